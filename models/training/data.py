"""YOLO-format dataset → letterboxed uint8 cache, with the gateway's exact letterbox geometry.

The network must see at training time exactly what the gateway feeds it: the same resize-and-pad
(models/preprocess/geometry.ts), pad grey 114, RGB. Images are letterboxed once into a uint8 array
kept in memory; augmentation then works on batches in torch.
"""
import math
import os

import numpy as np
import torch
from PIL import Image

PAD = 114


def js_round(x):
    return math.floor(x + 0.5)  # Math.round, not Python's banker's rounding


def letterbox_geometry(sw, sh, dw, dh):
    r = min(dw / sw, dh / sh)
    cw = min(dw, max(1, js_round(sw * r)))
    ch = min(dh, max(1, js_round(sh * r)))
    return cw, ch, cw / sw, ch / sh, (dw - cw) // 2, (dh - ch) // 2


def read_names(root):
    path = os.path.join(root, "data.yaml")
    names = None
    with open(path) as f:
        for line in f:
            if line.startswith("names:"):
                value = line.split(":", 1)[1].strip()
                names = [n.strip().strip("'\"") for n in value.strip("[]").split(",") if n.strip()]
    if not names:
        raise SystemExit(f"{path}: no `names: [...]` line")
    return names


def image_files(root, limit=None):
    img_dir = os.path.join(root, "images")
    files = sorted(f for f in os.listdir(img_dir) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    return files[:limit] if limit else files


def load(root, classes, size, limit=None, log_every=500, out=None):
    """Returns (images uint8 [N,size,size,3], boxes list of float32 [K,5] (model cls, x1,y1,x2,y2 in input px)).

    `out`: a preallocated [N,size,size,3] array to fill (N = len(image_files(root, limit))), so several
    datasets can share one array without a concatenation that briefly holds them twice."""
    names = read_names(root)
    remap = {i: classes.index(n) for i, n in enumerate(names) if n in classes}
    img_dir = os.path.join(root, "images")
    files = image_files(root, limit)
    shape = (len(files), size, size, 3)
    if out is not None and out.shape != shape:
        raise ValueError(f"{root}: out has shape {out.shape}, expected {shape}")
    images = np.empty(shape, dtype=np.uint8) if out is None else out
    images.fill(PAD)
    boxes = []
    for i, f in enumerate(files):
        im = Image.open(os.path.join(img_dir, f)).convert("RGB")
        sw, sh = im.size
        cw, ch, sx, sy, px, py = letterbox_geometry(sw, sh, size, size)
        images[i, py : py + ch, px : px + cw] = np.asarray(im.resize((cw, ch), Image.BILINEAR))
        out = []
        label = os.path.join(root, "labels", os.path.splitext(f)[0] + ".txt")
        if os.path.exists(label):
            for line in open(label):
                parts = line.split()
                if len(parts) != 5 or int(parts[0]) not in remap:
                    continue
                c, cx, cy, w, h = int(parts[0]), *map(float, parts[1:])
                x1, y1, x2, y2 = (cx - w / 2) * sw, (cy - h / 2) * sh, (cx + w / 2) * sw, (cy + h / 2) * sh
                out.append([remap[c], x1 * sx + px, y1 * sy + py, x2 * sx + px, y2 * sy + py])
        boxes.append(torch.tensor(out, dtype=torch.float32).reshape(-1, 5))
        if log_every and (i + 1) % log_every == 0:
            print(f"  cached {i + 1}/{len(files)}", flush=True)
    return images, boxes


# What augment() does, for the training log and the model card.
AUGMENTATION = "flips (both axes), gamma 0.70-1.42, contrast 0.5-1.3 with brightness, colour tint +/-8 %, blur (p 0.3), noise sigma <= 0.04"


def augment(batch, boxes, gen, ignore=None):
    """Flips (X-ray orientation is arbitrary) and photometric jitter like real machines differ:
    contrast/brightness, blur and noise, so the model does not learn one renderer's exact look.

    `ignore`: per image, boxes to flip with it (crops.py's cut threats); returned third when given."""
    n, _, h, w = batch.shape
    out_boxes, out_ignore = [], []
    for i in range(n):
        b = boxes[i].clone()
        g = ignore[i].clone() if ignore is not None else None
        moved = (b,) if g is None else (b, g)
        if torch.rand(1, generator=gen).item() < 0.5:
            batch[i] = batch[i].flip(-1)
            for t in moved:
                t[:, [1, 3]] = w - t[:, [3, 1]]
        if torch.rand(1, generator=gen).item() < 0.5:
            batch[i] = batch[i].flip(-2)
            for t in moved:
                t[:, [2, 4]] = h - t[:, [4, 2]]
        out_boxes.append(b)
        out_ignore.append(g)
    # Machines differ in gamma, contrast (a washed-out display can halve it), brightness and the tint of
    # their colour ramps; the model must not depend on one renderer's exact levels.
    gamma = torch.exp(0.35 * (2 * torch.rand(n, 1, 1, 1, generator=gen) - 1))
    batch = batch.clamp(1e-4, 1) ** gamma
    contrast = 0.5 + 0.8 * torch.rand(n, 1, 1, 1, generator=gen)
    bright = 0.5 + 0.4 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * (1.6 - contrast)
    tint = 1 + 0.08 * (2 * torch.rand(n, 3, 1, 1, generator=gen) - 1)
    batch = (batch - 0.5) * contrast * tint + bright
    blur = torch.rand(n, generator=gen) < 0.3
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16
        k = k.expand(3, 1, 3, 3).contiguous()
        batch[blur] = torch.nn.functional.conv2d(batch[blur], k, padding=1, groups=3)
    noise = torch.rand(n, 1, 1, 1, generator=gen) * 0.04
    batch = batch + noise * torch.randn(batch.shape, generator=gen)
    if ignore is not None:
        return batch.clamp(0, 1), out_boxes, out_ignore
    return batch.clamp(0, 1), out_boxes
