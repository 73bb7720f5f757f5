"""Repeat-factor sampling: scans holding a hard class come round more often in each epoch.

Lighters stopped gaining from more steps (+0.003 AP50 in a 100-minute run) while they are as common
as any other class in the data, so the fix is emphasis, not rarity: each scan that holds a listed
class is repeated by that class's factor (the largest, if it holds several), as LVIS's repeat-factor
sampling does by rarity. A fractional factor repeats the scan once more with that probability, drawn
per epoch, so 1.5 means every other epoch on average.

Hard-scan mining (--hard) is the same mechanism keyed by scan rather than class: the scans on which a
trained model still raises a false alarm or misses a threat, as `parcelguard eval --errors` lists them.
Lighters' false alarms are mostly on electronics and cables that no class factor can single out.
"""
import json
import math
import os

import torch


def parse_factors(spec, classes):
    """'lighter=3,knife=1.5' → {model class index: factor}; refuses unknown or repeated classes and factors < 1."""
    factors = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, _, value = part.partition("=")
        if name not in classes:
            raise SystemExit(f"--repeat: unknown class {name!r}; the model's classes are {','.join(classes)}")
        if classes.index(name) in factors:
            raise SystemExit(f"--repeat: {name} is given twice; give each class one factor")
        try:
            f = float(value)
        except ValueError:
            raise SystemExit(f"--repeat: {part!r} is not CLASS=FACTOR, e.g. lighter=3") from None
        if not math.isfinite(f) or f < 1:
            raise SystemExit(f"--repeat: {name}'s factor must be a number ≥ 1, got {value!r}")
        factors[classes.index(name)] = f
    return factors


def image_factors(boxes, factors):
    """Per image, the largest factor among the classes it holds (1 for none listed)."""
    out = torch.ones(len(boxes))
    for i, b in enumerate(boxes):
        present = {int(c) for c in b[:, 0].tolist()} if len(b) else set()
        out[i] = max([factors[c] for c in present if c in factors], default=1.0)
    return out


def epoch_order(image_factor, gen):
    """One epoch's shuffled image indices, each image repeated floor(r) times plus once more with
    probability frac(r)."""
    whole = image_factor.floor()
    copies = whole.long()
    # Whole factors draw nothing extra, so a run without --repeat shuffles exactly as before.
    if bool((image_factor != whole).any()):
        copies += (torch.rand(len(image_factor), generator=gen) < image_factor - whole).long()
    order = torch.repeat_interleave(torch.arange(len(image_factor)), copies)
    return order[torch.randperm(len(order), generator=gen)]


def parse_hard(paths, classes, labels=""):
    """Scans a model erred on, from `parcelguard eval --errors DIR` runs over training data (DIR/errors.json,
    comma-separated for several): {real path of the scan: the labels of its errors}. `labels` keeps only
    errors of those model classes (comma-separated; empty for all)."""
    keep = [n.strip() for n in labels.split(",") if n.strip()]
    for name in keep:
        if name not in classes:
            raise SystemExit(f"--hard-labels: unknown class {name!r}; the model's classes are {','.join(classes)}")
    hard = {}
    for path in filter(None, (p.strip() for p in paths.split(","))):
        try:
            with open(path) as f:
                errors = json.load(f)["errors"]
            named = [(os.path.realpath(e["image"]), e.get("label")) for e in errors]
        except OSError as e:
            raise SystemExit(f"--hard {path}: cannot read it ({e.strerror}); give the errors.json that "
                             "`parcelguard eval --errors DIR` wrote") from None
        except (ValueError, KeyError, TypeError):
            raise SystemExit(f"--hard {path}: not an errors.json of `parcelguard eval --errors` "
                             "(a JSON object with an `errors` list, each naming its `image`)") from None
        for image, label in named:
            if not keep or label in keep:
                hard.setdefault(image, set()).add(label)
    return hard


def hard_factors(image_paths, hard, factor):
    """Per image, `factor` where the model erred on it (parse_hard), else 1. Refuses a list naming scans
    outside the training data: it was mined from another set (held-out scans, say) and would emphasise
    nothing, or worse, hide that the set is not the one meant."""
    if not math.isfinite(factor) or factor < 1:
        raise SystemExit(f"--hard-factor: must be a number ≥ 1, got {factor}")
    index = {os.path.realpath(p): i for i, p in enumerate(image_paths)}
    outside = [p for p in hard if p not in index]
    if outside:
        raise SystemExit(f"--hard: {len(outside)} of its {len(hard)} scans are not in --data, e.g. {outside[0]}; "
                         "mine the errors on the training sets themselves")
    out = torch.ones(len(image_paths))
    for p in hard:
        out[index[p]] = factor
    return out
