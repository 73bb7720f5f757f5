#!/usr/bin/python3
"""Checks models/training/net.py's growth: a checkpoint loaded into a deeper network computes the same.

    /usr/bin/python3 test/models/training/grow_check.py   → one JSON line of findings (run by grow.test.ts)
"""
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../models/training"))
sys.path.insert(0, os.path.dirname(__file__))
import net as netlib  # noqa: E402
from fakes import trained_looking  # noqa: E402

torch.manual_seed(0)
# Trained-looking BN statistics and scales, so "identity" is tested against more than fresh defaults.
small = trained_looking(netlib.Detector(3)).eval()
found = {}
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "small.pt")
    torch.save(small.state_dict(), path)
    grown = netlib.load(path, 3, (2, 3, 2)).eval()
    found["depthSaved"] = list(netlib.depth_of(small.state_dict()))
    found["depthGrown"] = list(netlib.depth_of(grown.state_dict()))
    found["paramsSmall"] = netlib.count_params(small)
    found["paramsGrown"] = netlib.count_params(grown)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        diff = max(float((a - b).abs().max()) for a, b in zip(small(x), grown(x)))
    found["maxOutputDiff"] = diff
    # The added blocks start as identity but must not stay frozen there: their zeroed scale gets a gradient.
    grown.train()
    heat, size, off = grown(x)
    (heat.mean() + size.mean() + off.mean()).backward()
    found["addedScaleGrad"] = float(grown.s16[3].b[1].weight.grad.abs().sum())
    for name, args in (("shrink", (path, 3, (1, 1, 1))), ("wrongClasses", (path, 6, None))):
        try:
            netlib.load(*args)
            found[name] = "loaded"
        except (SystemExit, RuntimeError) as e:
            found[name] = "refused: " + str(e).splitlines()[0][:120]
print(json.dumps(found))
