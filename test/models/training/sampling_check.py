#!/usr/bin/python3
"""Checks models/training/sampling.py's repeat-factor sampling.

    /usr/bin/python3 test/models/training/sampling_check.py   → one JSON line of findings (run by sampling.test.ts)
"""
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../models/training"))
import sampling  # noqa: E402

CLASSES = ["gun", "knife", "scissors", "lighter"]
found = {}


def refused(spec):
    try:
        sampling.parse_factors(spec, CLASSES)
        return "accepted"
    except SystemExit as e:
        return f"refused: {e}"


found["factors"] = {str(k): v for k, v in sorted(sampling.parse_factors("lighter=3, knife=1.5", CLASSES).items())}
found["none"] = sampling.parse_factors("", CLASSES)
found["unknownClass"] = refused("lighterr=3")
found["belowOne"] = refused("lighter=0.5")
found["notANumber"] = refused("lighter=x")
found["noFactor"] = refused("lighter")
found["twice"] = refused("lighter=3,knife=2,lighter=2")

box = lambda *classes: torch.tensor([[c, 0, 0, 10, 10] for c in classes], dtype=torch.float32).reshape(-1, 5)  # noqa: E731
boxes = [box(3), box(1, 3), box(0), box(), box(1)]
factors = sampling.parse_factors("lighter=3,knife=1.5", CLASSES)
per_image = sampling.image_factors(boxes, factors)
found["imageFactors"] = per_image.tolist()

whole = sampling.image_factors(boxes, {3: 3.0})
order = sampling.epoch_order(whole, torch.Generator().manual_seed(5))
found["wholeCounts"] = torch.bincount(order, minlength=len(boxes)).tolist()
found["shuffled"] = order.tolist() != sorted(order.tolist())

# No factors: the same order torch.randperm gave before sampling.py existed, so old runs replay.
plain = sampling.epoch_order(torch.ones(50), torch.Generator().manual_seed(7))
found["plainIsRandperm"] = plain.tolist() == torch.randperm(50, generator=torch.Generator().manual_seed(7)).tolist()

gen = torch.Generator().manual_seed(11)
epochs = 4000
counts = torch.zeros(len(boxes))
for _ in range(epochs):
    counts += torch.bincount(sampling.epoch_order(per_image, gen), minlength=len(boxes))
found["meanCopies"] = [round(c / epochs, 3) for c in counts.tolist()]

# Hard scans: the errors.json of `parcelguard eval --errors` names scans by path, possibly through
# another spelling of the same folder (a symlink, a relative path).
with tempfile.TemporaryDirectory() as tmp:
    real = os.path.join(tmp, "train", "images")
    os.makedirs(real)
    os.symlink(os.path.join(tmp, "train"), os.path.join(tmp, "alias"))
    paths = [os.path.join(real, f"{i:06d}.jpg") for i in range(5)]
    errors = {"tally": [], "errors": [
        {"image": os.path.join(tmp, "alias", "images", "000001.jpg"), "label": "lighter", "type": "false-alarm"},
        {"image": paths[1], "label": "knife", "type": "miss"},
        {"image": paths[3], "label": "gun", "type": "miss"},
    ]}
    path = os.path.join(tmp, "errors.json")
    with open(path, "w") as f:
        json.dump(errors, f)
    hard = sampling.parse_hard(path, CLASSES)
    found["hardLabels"] = {os.path.basename(k): sorted(v) for k, v in hard.items()}
    found["hardFactors"] = sampling.hard_factors(paths, hard, 2.5).tolist()
    only = sampling.parse_hard(path, CLASSES, "lighter")
    found["lighterOnly"] = sampling.hard_factors(paths, only, 2).tolist()
    # Combined with class factors, a scan gets the larger of the two.
    found["combined"] = torch.maximum(per_image, sampling.hard_factors(paths, hard, 2)).tolist()

    def refused_hard(fn):
        try:
            fn()
            return "accepted"
        except SystemExit as e:
            return f"refused: {e}"

    found["hardMissingFile"] = refused_hard(lambda: sampling.parse_hard(os.path.join(tmp, "nope.json"), CLASSES))
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"tally": []}')
    found["hardNotErrors"] = refused_hard(lambda: sampling.parse_hard(bad, CLASSES))
    nameless = os.path.join(tmp, "nameless.json")
    with open(nameless, "w") as f:
        json.dump({"errors": [{"label": "lighter", "type": "miss"}]}, f)
    found["hardNoImage"] = refused_hard(lambda: sampling.parse_hard(nameless, CLASSES))
    found["hardUnknownLabel"] = refused_hard(lambda: sampling.parse_hard(path, CLASSES, "lightr"))
    found["hardOutside"] = refused_hard(lambda: sampling.hard_factors(paths[2:], hard, 2))
    found["hardBelowOne"] = refused_hard(lambda: sampling.hard_factors(paths, hard, 0.5))
print(json.dumps(found))
