#!/usr/bin/python3
"""Checks models/training/lighten.py: the stride-4 neck swapped and taught, everything else untouched.

    /usr/bin/python3 test/models/training/lighten_check.py   → one JSON line of findings (run by lighten.test.ts)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

TRAINING = os.path.join(os.path.dirname(__file__), "../../../models/training")
sys.path.insert(0, TRAINING)
sys.path.insert(0, os.path.dirname(__file__))
import net as netlib  # noqa: E402
from fakes import trained_looking  # noqa: E402

NECK = ("smooth.2.", "head.")
torch.manual_seed(0)
full = trained_looking(netlib.Detector(3)).eval()


def neck_error(student, x):
    """The student's stride-4 neck output against the full network's, relative to the latter's power."""
    with torch.no_grad():
        p = full.s4_input(x)
        want = full.s4_neck(p)
        got = student.s4_neck(p)
    return float(((got - want) ** 2).mean() / (want**2).mean())


found = {}
with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(os.path.join(tmp, "images"))
    with open(os.path.join(tmp, "data.yaml"), "w") as f:
        f.write("# test\nnames: ['a', 'b', 'c']\n")
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)).save(os.path.join(tmp, "images", f"{i}.png"))
    src = os.path.join(tmp, "full.pt")
    out = os.path.join(tmp, "light.pt")
    torch.save(full.state_dict(), src)
    args = ["--data", tmp, "--classes", "a,b,c", "--size", "64", "--images", "6", "--batch", "3"]
    run = subprocess.run([sys.executable, os.path.join(TRAINING, "lighten.py"), "--checkpoint", src, "--out", out,
                          "--steps", "200", *args], capture_output=True, text=True, timeout=120, check=True)
    found["log"] = run.stdout.splitlines()[-1]
    light = netlib.load(out, 3).eval()
    found["lightS4"] = light.light_s4
    found["fullS4"] = netlib.light_s4_of(full.state_dict())
    before, after = full.state_dict(), light.state_dict()
    found["trunkUnchanged"] = all(torch.equal(v, after[k]) for k, v in before.items() if not k.startswith(NECK))
    found["paramsFull"] = netlib.count_params(full)
    found["paramsLight"] = netlib.count_params(light)
    x = torch.from_numpy(rng.random((3, 3, 64, 64), dtype=np.float32))
    fresh = netlib.Detector(3, light_s4=True).eval()
    found["errorFresh"] = neck_error(fresh, x)
    found["errorTaught"] = neck_error(light, x)
    again = subprocess.run([sys.executable, os.path.join(TRAINING, "lighten.py"), "--checkpoint", out, "--out",
                            os.path.join(tmp, "again.pt"), *args], capture_output=True, text=True, timeout=120)
    found["again"] = f"exit {again.returncode}: " + (again.stderr.strip().splitlines() or [""])[-1][:120]
print(json.dumps(found))
