#!/usr/bin/python3
"""Where a detector loses AP: confidence or localisation, per class.

    /usr/bin/python3 models/training/diagnose.py CHECKPOINT gun,knife,... SIZE DATASET [--limit 300]

For every ground-truth box it takes the model's strongest peak of that class within 3 cells of the
box's centre and reports, per class: the peak's score (median, share above the 0.25 threshold), the
IoU of the box decoded there (median, share >= 0.5), the width/height ratios and how far the peak lies
from the centre cell. High IoU with low scores means the heatmap (recognition) is what limits AP;
low IoU means the size/offset heads do.
"""
import argparse

import numpy as np
import torch

import data
from export import decode
import net as netlib
from net import STRIDE


def iou(a, b):
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("classes")
    ap.add_argument("size", type=int)
    ap.add_argument("data")
    ap.add_argument("--limit", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    classes = args.classes.split(",")
    net = netlib.load(args.checkpoint, len(classes))
    net.eval()
    images, boxes = data.load(args.data, classes, args.size, limit=args.limit, log_every=0)
    stats = {c: [] for c in classes}
    with torch.no_grad():
        for s in range(0, len(images), 20):
            x = torch.from_numpy(images[s : s + 20]).permute(0, 3, 1, 2).float() / 255
            heat, size, off = net(x)
            boxes_map, heat = decode(heat, size, off, heat.shape[2], heat.shape[3])
            for b in range(x.shape[0]):
                for c, x1, y1, x2, y2 in boxes[s + b].tolist():
                    c = int(c)
                    ix, iy = int((x1 + x2) / 2 / STRIDE), int((y1 + y2) / 2 / STRIDE)
                    y0, x0 = max(0, iy - 3), max(0, ix - 3)
                    win = heat[b, c, y0 : iy + 4, x0 : ix + 4]
                    k = int(win.argmax())
                    py, px = y0 + k // win.shape[1], x0 + k % win.shape[1]
                    cx, cy, w, h = boxes_map[b, :, py, px].tolist()
                    pred = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                    stats[classes[c]].append((float(heat[b, c, py, px]), iou(pred, [x1, y1, x2, y2]),
                                              w / (x2 - x1), h / (y2 - y1), max(abs(px - ix), abs(py - iy))))
    for c, rows in stats.items():
        if not rows:
            continue
        a = np.array(rows)
        print(f"{c:12s} n={len(a):3d} score p50={np.median(a[:, 0]):.2f} >0.25:{(a[:, 0] > 0.25).mean():.2f} "
              f"iou p50={np.median(a[:, 1]):.2f} >=0.5:{(a[:, 1] >= 0.5).mean():.2f} "
              f"w/h ratio p50={np.median(a[:, 2]):.2f}/{np.median(a[:, 3]):.2f} peak off {a[:, 4].mean():.2f} cells")


if __name__ == "__main__":
    main()
