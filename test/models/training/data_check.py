#!/usr/bin/python3
"""Checks models/training/data.py's cache: letterboxed images and boxes, alone or into a shared array.

    /usr/bin/python3 test/models/training/data_check.py   → one JSON line of findings (run by data.test.ts)
"""
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../models/training"))
import data  # noqa: E402

CLASSES = ["knife", "lighter"]
found = {}
with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(os.path.join(tmp, "images"))
    os.makedirs(os.path.join(tmp, "labels"))
    with open(os.path.join(tmp, "data.yaml"), "w") as f:
        f.write("# test\nnames: ['gun', 'lighter', 'knife']\n")
    # A 200x100 scan: at 64 px it is scaled by 0.32 and padded 16 px above and below.
    Image.new("RGB", (200, 100), (10, 200, 30)).save(os.path.join(tmp, "images", "a.png"))
    with open(os.path.join(tmp, "labels", "a.txt"), "w") as f:
        f.write("2 0.5 0.5 0.5 0.2\n0 0.1 0.1 0.1 0.1\n1 0.25 0.75 0.1 0.2\n")
    Image.new("RGB", (100, 100), (250, 250, 250)).save(os.path.join(tmp, "images", "b.png"))

    alone, boxes = data.load(tmp, CLASSES, 64, log_every=0)
    shared = np.zeros((3, 64, 64, 3), dtype=np.uint8)  # one slot more, as train.py's array holds several sets
    _, boxes_shared = data.load(tmp, CLASSES, 64, log_every=0, out=shared[1:])
    found["files"] = data.image_files(tmp)
    found["sameImages"] = bool((alone == shared[1:]).all())
    found["sameBoxes"] = all(bool((a == b).all()) for a, b in zip(boxes, boxes_shared))
    found["untouchedSlot"] = int(shared[0].max())
    found["padTop"] = alone[0, 0, 32].tolist()
    found["scanPixel"] = alone[0, 32, 32].tolist()
    # gun is not a model class, so it is dropped; knife maps to 0 and lighter to 1.
    found["boxesA"] = [[round(v, 3) for v in row] for row in boxes[0].tolist()]
    found["boxesB"] = boxes[1].shape[0]
    try:
        data.load(tmp, CLASSES, 64, log_every=0, out=shared)
        found["wrongShape"] = "accepted"
    except ValueError as e:
        found["wrongShape"] = f"refused: {e}"
print(json.dumps(found))
