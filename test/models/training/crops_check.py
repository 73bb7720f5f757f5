#!/usr/bin/python3
"""Checks models/training/crops.py's threat-centred crops and the ignore boxes they feed targets.py.

    /usr/bin/python3 test/models/training/crops_check.py   → one JSON line of findings (run by crops.test.ts)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../models/training"))
import crops  # noqa: E402
import data  # noqa: E402
import targets  # noqa: E402

found = {}
box = lambda *rows: torch.tensor(rows, dtype=torch.float32).reshape(-1, 5)  # noqa: E731

# A 64 px window at (100, 100): inside; 75 % inside (kept, clipped); 25 % inside (ignored); outside.
kept, ignored = crops.clip_boxes(
    box([0, 110, 110, 130, 130], [1, 90, 120, 130, 140], [2, 150, 100, 190, 120], [3, 0, 0, 20, 20]), 100, 100, 64, 0.5)
found["kept"] = kept.tolist()
found["ignored"] = ignored.tolist()
empty_kept, empty_ignored = crops.clip_boxes(box(), 0, 0, 64, 0.5)
found["emptyShapes"] = [list(empty_kept.shape), list(empty_ignored.shape)]

# Windows around a box: always inside the image, the box's centre at least crop/8 from the window's
# edges, and spread (not one fixed placement); near the image's edge the window hugs that edge.
gen = torch.Generator().manual_seed(3)
size, crop = 448, 256
b = torch.tensor([0, 200, 150, 240, 190.0])
corners = [crops.window_around(size, crop, b, gen) for _ in range(500)]
found["windowsInside"] = all(0 <= x <= size - crop and 0 <= y <= size - crop for x, y in corners)
found["centreMargin"] = min(min(220 - x, x + crop - 220, 170 - y, y + crop - 170) for x, y in corners)
found["distinctCorners"] = len(set(corners))
found["edgeWindow"] = crops.window_around(size, crop, torch.tensor([0, 0, 0, 6, 6.0]), gen)
found["farEdgeWindow"] = crops.window_around(size, crop, torch.tensor([0, 440, 440, 448, 448.0]), gen)

# Crops hold the cache's own pixels: each pixel of the fake cache encodes its position.
ys, xs = np.mgrid[0:size, 0:size]
image = np.stack([xs % 256, ys % 256, (xs // 256) * 16 + (ys // 256)], axis=-1).astype(np.uint8)
images = np.stack([image, image])
boxes = [box([1, 300, 300, 340, 360]), box()]
batch, kept_boxes, ignore_boxes = crops.crop_batch(images, boxes, [0, 1, 0], crop, torch.Generator().manual_seed(5), p_object=1.0)
found["batchShape"] = list(batch.shape)
pix = (batch * 255).round().to(torch.int64)
x0 = int(pix[0, 0, 0, 0]) + 256 * (int(pix[0, 2, 0, 0]) // 16)
y0 = int(pix[0, 1, 0, 0]) + 256 * (int(pix[0, 2, 0, 0]) % 16)
found["pixelsMatchCache"] = bool((pix[0].permute(1, 2, 0).numpy() == image[y0 : y0 + crop, x0 : x0 + crop]).all())
found["keptIsShifted"] = kept_boxes[0].tolist() == [[1, 300 - x0, 300 - y0, 340 - x0, 360 - y0]]
found["emptyScanKeeps"] = len(kept_boxes[1]) + len(ignore_boxes[1])
found["badCrop"] = None
try:
    crops.crop_batch(images, boxes, [0], 500, gen)
except ValueError as e:
    found["badCrop"] = str(e)

# Flips move ignore boxes with the image: one box given as both kept and ignored stays one box.
flip_kept = [box([0, 10, 20, 30, 60])] * 8
_, fb, fi = data.augment(torch.rand(8, 3, 64, 64), flip_kept, torch.Generator().manual_seed(1), ignore=flip_kept)
found["ignoreFlipsWithBoxes"] = all(torch.equal(a, b) for a, b in zip(fb, fi))
found["someFlipped"] = any(not torch.equal(a, flip_kept[0]) for a in fb)

# Targets: an ignored box clears its class's cells (centres inside it) from the background loss.
tgt = targets.build_targets([box([0, 4, 4, 12, 12])], 2, 8, 8, ignore_batch=[box([1, 8, 0, 20, 10])])
neg = tgt[-1]
found["ignoredCells"] = [[int(v) for v in row] for row in (1 - neg[0, 1]).nonzero().tolist()]
found["otherClassUntouched"] = bool(neg[0, 0].eq(1).all())
plain = targets.build_targets([box([0, 4, 4, 12, 12])], 2, 8, 8)
found["noIgnoreAllOnes"] = bool(plain[-1].eq(1).all())
# A confident output on the ignored cells costs nothing there; without the ignore it costs.
logits = torch.full((1, 2, 8, 8), -6.0)
logits[0, 1, 0:2, 2:5] = 4.0
found["lossIgnored"] = round(targets.focal_loss(logits, tgt[0], neg).item(), 4)
found["lossPlain"] = round(targets.focal_loss(logits, tgt[0]).item(), 4)
found["lossQuiet"] = round(targets.focal_loss(torch.full((1, 2, 8, 8), -6.0), tgt[0], neg).item(), 4)
print(json.dumps(found))
