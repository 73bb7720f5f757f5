"""Threat-centred crops: more objects and more of the clutter around them per step of compute.

The prohibited model underfitted (mAP50 0.830 on its training scans against 0.833 held out, before
these crops), and whole scans are a costly way to teach it: a 448 px scan costs about three 256 px crops
and holds one or two threats. A crop placed around a threat holds as many, and the clutter right
beside it, which is where the lighter false alarms come from (small metal parts of electronics), so
the same minutes teach several times the objects. Crops come from the letterboxed cache, so the
network sees threats at the scale the gateway feeds it. Some crops are placed anywhere, so scans'
plain clutter (and the letterbox's grey) stays in the diet.

A threat the window cuts keeps its clipped box when at least `min_keep` of its area is inside: a
scan's own edge cuts threats the same way, and a visible-pixel label is then the clipped box. One cut
worse is neither a positive nor a negative: it comes back as an ignore box whose cells are left out of
the heatmap's background loss (targets.py), so the network is not taught that a sliver of a knife is
clutter.
"""
import torch

# Share of a threat's area a crop must hold for it to stay a positive; less and it is ignored.
MIN_KEEP = 0.5


def describe(crop, p_object, min_keep=MIN_KEEP):
    """What crop_batch does, for the training log and the model card."""
    return (f"{crop} px crops of the letterboxed scans, {round(p_object * 100)} % of them around a random threat, "
            f"threats cut to less than {round(min_keep * 100)} % of their area ignored")


def window_around(size, crop, box, gen):
    """Top-left corner of a crop×crop window inside a size×size image that holds `box`'s centre at
    least crop/8 from its edges (where the image allows), or anywhere when `box` is None."""
    def pick(lo, hi):
        lo, hi = max(0, lo), min(size - crop, hi)
        if hi < lo:  # the centre is nearer the image's edge than the margin allows: hug that edge
            return min(lo, size - crop)
        return int(lo + torch.randint(0, hi - lo + 1, (1,), generator=gen).item())

    if box is None:
        return pick(0, size - crop), pick(0, size - crop)
    margin = crop // 8
    cx, cy = float(box[1] + box[3]) / 2, float(box[2] + box[4]) / 2
    x0 = pick(int(cx) - crop + margin + 1, int(cx) - margin)
    y0 = pick(int(cy) - crop + margin + 1, int(cy) - margin)
    return x0, y0


def clip_boxes(boxes, x0, y0, crop, min_keep):
    """Boxes [K,5] (cls, x1, y1, x2, y2) in image pixels → (kept, ignored), both in crop pixels and
    clipped to it: kept when at least `min_keep` of the box's area is inside, ignored when less but
    some, dropped when none."""
    if len(boxes) == 0:
        empty = boxes.new_zeros((0, 5))
        return empty, empty
    b = boxes.clone()
    b[:, [1, 3]] -= x0
    b[:, [2, 4]] -= y0
    area = (b[:, 3] - b[:, 1]).clamp(min=0) * (b[:, 4] - b[:, 2]).clamp(min=0)
    b[:, 1:5] = b[:, 1:5].clamp(0, crop)
    inside = (b[:, 3] - b[:, 1]).clamp(min=0) * (b[:, 4] - b[:, 2]).clamp(min=0)
    share = torch.where(area > 0, inside / area.clamp(min=1e-6), torch.zeros_like(area))
    keep = share >= min_keep
    ignore = (inside > 0) & ~keep
    return b[keep], b[ignore]


def crop_batch(images, boxes, idx, crop, gen, p_object=0.7, min_keep=MIN_KEEP):
    """Crops for the scans `idx` of the uint8 cache `images` [N,S,S,3] with their `boxes`.

    Returns (float batch [n,3,crop,crop] in 0..1, kept boxes, ignore boxes), lists per crop."""
    size = images.shape[1]
    if not 0 < crop <= size:
        raise ValueError(f"crop {crop} must be between 1 and the cached size {size}")
    out = torch.empty((len(idx), crop, crop, 3), dtype=torch.uint8)
    kept, ignored = [], []
    for k, i in enumerate(idx):
        b = boxes[i]
        around = None
        if len(b) and torch.rand(1, generator=gen).item() < p_object:
            around = b[int(torch.randint(0, len(b), (1,), generator=gen).item())]
        x0, y0 = window_around(size, crop, around, gen)
        out[k] = torch.from_numpy(images[i, y0 : y0 + crop, x0 : x0 + crop])
        keep, ignore = clip_boxes(b, x0, y0, crop, min_keep)
        kept.append(keep)
        ignored.append(ignore)
    return out.permute(0, 3, 1, 2).float() / 255.0, kept, ignored
