#!/usr/bin/python3
"""Checks models/training/ema.py's weight average and train.py's checkpoints under --ema.

    /usr/bin/python3 test/models/training/ema_check.py   → one JSON line of findings (run by ema.test.ts)
"""
import json
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../models/training"))
sys.path.insert(0, os.path.dirname(__file__))
import ema as emalib  # noqa: E402
import net as netlib  # noqa: E402
import train  # noqa: E402
from fakes import trained_looking  # noqa: E402

torch.manual_seed(0)
found = {}


def refused(text):
    try:
        return f"accepted {emalib.parse_decay(text)}"
    except SystemExit as e:
        return f"refused: {e}"


found["parsed"] = emalib.parse_decay("0.998")
found["zero"] = refused("0")
found["one"] = refused("1")
found["word"] = refused("fast")

net = trained_looking(netlib.Detector(3)).train()
ema = emalib.Ema(net, 0.99, ramp=10)
start = {k: v.clone() for k, v in net.state_dict().items()}
found["frozen"] = all(not p.requires_grad for p in ema.shadow.parameters())
found["shadowInEval"] = not ema.shadow.training

# Move every float weight and statistic of the live network by a known amount, then average once.
with torch.no_grad():
    for k, v in net.state_dict().items():
        if v.dtype.is_floating_point:
            v.add_(1.0)
        else:
            v.add_(7)
d1 = 0.99 * (1 - math.exp(-1 / 10))
found["firstRate"] = ema.rate()
found["firstRateExpected"] = d1
ema.update(net)
shadow = ema.shadow.state_dict()
worst = 0.0
for k, v in shadow.items():
    if v.dtype.is_floating_point:
        want = d1 * start[k] + (1 - d1) * (start[k] + 1.0)
        worst = max(worst, (v - want).abs().max().item())
found["firstUpdateError"] = worst
counts = [k for k, v in shadow.items() if not v.dtype.is_floating_point]
found["countsCopied"] = bool(counts) and all(torch.equal(shadow[k], net.state_dict()[k]) for k in counts)

# Held still, the average converges on the live weights; the ramp makes later updates slower.
for _ in range(2000):
    ema.update(net)
found["convergedError"] = max((v - net.state_dict()[k]).abs().max().item()
                              for k, v in ema.shadow.state_dict().items() if v.dtype.is_floating_point)
found["lateRate"] = ema.rate()

# The shadow is a copy: a step on the live network leaves it alone.
before = ema.shadow.state_dict()["head.0.weight"].clone() if "head.0.weight" in shadow else None
with torch.no_grad():
    for p in net.parameters():
        p.mul_(3)
found["shadowIndependent"] = before is not None and torch.equal(before, ema.shadow.state_dict()["head.0.weight"])

# train.py saves the average as checkpoint.pt (what it exports) and the last step's weights beside it.
with tempfile.TemporaryDirectory() as tmp:
    train.save_checkpoints(net, ema, tmp)
    saved = torch.load(os.path.join(tmp, "checkpoint.pt"))
    last = torch.load(os.path.join(tmp, "checkpoint-last-step.pt"))
    found["savedIsAverage"] = all(torch.equal(saved[k], v) for k, v in ema.shadow.state_dict().items())
    found["lastIsLive"] = all(torch.equal(last[k], v) for k, v in net.state_dict().items())
    found["averageDiffersFromLive"] = not torch.equal(saved["head.0.weight"], last["head.0.weight"])
    # Without --ema only checkpoint.pt, the live weights, as before.
    plain = os.path.join(tmp, "plain")
    os.makedirs(plain)
    train.save_checkpoints(net, None, plain)
    found["plainFiles"] = sorted(os.listdir(plain))
    found["plainIsLive"] = torch.equal(torch.load(os.path.join(plain, "checkpoint.pt"))["head.0.weight"],
                                       net.state_dict()["head.0.weight"])

print(json.dumps(found))
