"""CenterNet training targets and loss."""
import math

import torch
import torch.nn.functional as F

from net import STRIDE


def gaussian_radius(h, w, min_overlap=0.7):
    # CenterNet's radius: the largest centre shift that still keeps IoU >= min_overlap.
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 * b1 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 * b2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2
    return max(0.0, min(r1, r2, r3))


# Size is supervised on the 3x3 cells around each centre, not the centre alone: at inference the peak
# often lands one cell off, and a size head trained only on exact centres is unsupervised there. It
# also gives the size head ~9x the signal per object. Neighbours weigh by their heatmap value, floored
# so small objects (tight Gaussians) still teach their neighbours.
NEIGHBOUR_FLOOR = 0.3

# What build_targets does, for the training log and the model card.
DESCRIPTION = "size supervised on the 3x3 cells around each centre"


def build_targets(boxes_batch, num_classes, out_h, out_w, max_objs=64, ignore_batch=None):
    """boxes_batch: list of float tensors [K,5] (cls, x1, y1, x2, y2) in input pixels; ignore_batch:
    the same for objects that are neither positive nor background (crops.py's cut threats).

    Returns heat [N,C,H,W]; size targets, cell indices and weights over the 3x3 neighbourhoods
    (max_objs*9 slots); offset targets, centre indices and mask (max_objs slots); and the weight of
    each heatmap cell in the background loss [N,C,H,W] (0 on an ignored object's cells of its class)."""
    n = len(boxes_batch)
    heat = torch.zeros(n, num_classes, out_h, out_w)
    neg_weight = torch.ones(n, num_classes, out_h, out_w)
    for b, ignored in enumerate(ignore_batch or []):
        for c, x1, y1, x2, y2 in ignored.tolist():
            # Cells whose centre ((i + 0.5) * STRIDE) lies inside the box.
            cx0, cy0 = max(0, math.ceil(x1 / STRIDE - 0.5)), max(0, math.ceil(y1 / STRIDE - 0.5))
            cx1, cy1 = min(out_w, math.floor(x2 / STRIDE - 0.5) + 1), min(out_h, math.floor(y2 / STRIDE - 0.5) + 1)
            neg_weight[b, int(c), cy0:cy1, cx0:cx1] = 0
    size = torch.zeros(n, max_objs * 9, 2)
    size_ind = torch.zeros(n, max_objs * 9, dtype=torch.long)
    size_w = torch.zeros(n, max_objs * 9)
    off = torch.zeros(n, max_objs, 2)
    ind = torch.zeros(n, max_objs, dtype=torch.long)
    mask = torch.zeros(n, max_objs)
    ys = torch.arange(out_h).view(-1, 1).float()
    xs = torch.arange(out_w).view(1, -1).float()
    for b, boxes in enumerate(boxes_batch):
        for k, (c, x1, y1, x2, y2) in enumerate(boxes.tolist()[:max_objs]):
            w, h = (x2 - x1) / STRIDE, (y2 - y1) / STRIDE
            if w <= 0.2 or h <= 0.2:
                continue
            cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
            ix, iy = min(out_w - 1, int(cx)), min(out_h - 1, int(cy))
            r = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w))))
            sigma = (2 * r + 1) / 6
            g = torch.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma * sigma))
            heat[b, int(c)] = torch.maximum(heat[b, int(c)], g)
            off[b, k] = torch.tensor([cx - ix, cy - iy])
            ind[b, k] = iy * out_w + ix
            mask[b, k] = 1
            log_wh = torch.tensor([math.log(w), math.log(h)])
            for j, (dx, dy) in enumerate((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
                jx, jy = ix + dx, iy + dy
                if not (0 <= jx < out_w and 0 <= jy < out_h):
                    continue
                slot = k * 9 + j
                size[b, slot] = log_wh
                size_ind[b, slot] = jy * out_w + jx
                size_w[b, slot] = 1.0 if dx == dy == 0 else max(NEIGHBOUR_FLOOR, g[jy, jx].item())
    return heat, size, size_ind, size_w, off, ind, mask, neg_weight


def focal_loss(logits, gt, neg_weight=None):
    pred = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos if neg_weight is None else (1 - pos) * neg_weight
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred ** 2 * (1 - gt) ** 4 * neg
    num_pos = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos


def gather(feat, ind):
    n, c, h, w = feat.shape
    feat = feat.view(n, c, h * w).permute(0, 2, 1)
    return feat.gather(1, ind.unsqueeze(2).expand(-1, -1, c))


def detection_loss(outputs, targets, size_weight=1.0, off_weight=1.0):
    heat_logits, size_pred, off_logits = outputs
    heat, size, size_ind, size_w, off, ind, mask, neg_weight = targets
    l_heat = focal_loss(heat_logits, heat, neg_weight)
    # Size: weighted mean over the neighbourhood cells, normalised per object (the centre weighs 1).
    sw = size_w.unsqueeze(2)
    l_size = (F.l1_loss(gather(size_pred, size_ind) * sw, size * sw, reduction="sum")) / size_w.sum().clamp(min=1)
    m = mask.unsqueeze(2)
    denom = m.sum().clamp(min=1)
    l_off = (F.l1_loss(torch.sigmoid(gather(off_logits, ind)) * m, off * m, reduction="sum")) / denom
    return l_heat + size_weight * l_size + off_weight * l_off, (l_heat.item(), l_size.item(), l_off.item())
