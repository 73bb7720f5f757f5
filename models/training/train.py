#!/usr/bin/python3
"""Trains one Parcelguard detector on a YOLO-format dataset and exports it for the gateway.

    /usr/bin/python3 models/training/train.py --data DIR --classes gun,knife,... --out models/prohibited \
        --size 320 --minutes 55 --seed 1

Debian's python3-torch (and python3-onnx, python3-pil). The learning rate follows a cosine over the
time budget rather than over epochs, so a run ends on time on any machine. Writes OUT/model.onnx,
OUT/labels.json and OUT/train-log.json.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

import crops
import data
import ema as emalib
import export
import sampling
import targets
import net as netlib
from net import STRIDE, Detector, count_params


def read_description(data_dir):
    """The first comment line of the dataset's data.yaml: how `parcelguard synth` made it."""
    try:
        with open(os.path.join(data_dir, "data.yaml")) as f:
            first = f.readline().strip()
        return first.lstrip("# ").strip() if first.startswith("#") else None
    except OSError:
        return None


def previous_runs(prev):
    """The runs of an earlier log; a log from before `runs` existed counts as one run."""
    if "runs" in prev:
        return prev["runs"]
    return [{"data": prev.get("data"), "dataDescription": None, "minutes": prev.get("minutes"),
             "steps": prev.get("steps"), "imagesSeen": prev.get("imagesSeen"), "images": prev.get("images"),
             "lr": prev.get("lr"), "seed": prev.get("seed"), "threads": prev.get("threads"),
             "resumedFrom": prev.get("resumedFrom")}]


def save_checkpoints(net, ema, out):
    """checkpoint.pt is what the run exports; with --ema the last step's own weights go beside it, so a
    comparison of the two needs no second run."""
    torch.save((ema.shadow if ema else net).state_dict(), os.path.join(out, "checkpoint.pt"))
    if ema:
        torch.save(net.state_dict(), os.path.join(out, "checkpoint-last-step.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="YOLO dataset folder(s), comma-separated")
    ap.add_argument("--classes", required=True, help="comma-separated model classes, in output order")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--minutes", type=float, default=55)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images (smoke tests)")
    ap.add_argument("--resume", default=None, help="start from this checkpoint (continue an earlier run)")
    ap.add_argument("--warmup", type=int, default=200, help="learning-rate warm-up steps (use few when resuming)")
    ap.add_argument("--depth", default=None,
                    help="residual blocks at stride 8,16,32, e.g. 1,3,2 (default: the checkpoint's, else "
                         f"{','.join(map(str, netlib.DEPTH))}); deeper than --resume grows it by identity blocks")
    ap.add_argument("--light-s4", action="store_true",
                    help="a new network with the depthwise-separable stride-4 neck (a resumed one keeps its own; "
                         "lighten.py converts a trained one)")
    ap.add_argument("--repeat", default="",
                    help="repeat scans holding these classes per epoch, e.g. lighter=3 (see sampling.py)")
    ap.add_argument("--crop", type=int, default=None,
                    help="train on crops of this many px of the --size scans, most around a threat (see crops.py)")
    ap.add_argument("--hard", default="",
                    help="errors.json file(s) of `parcelguard eval --errors` over the training data: repeat those scans")
    ap.add_argument("--hard-factor", type=float, default=2.0, help="times per epoch a --hard scan comes round")
    ap.add_argument("--hard-labels", default="", help="only --hard errors of these classes (default: all)")
    ap.add_argument("--ema", type=emalib.parse_decay, default=None,
                    help="export a moving average of the weights with this decay (e.g. 0.998); see ema.py")
    ap.add_argument("--crop-objects", type=float, default=0.7, help="share of crops placed around a threat")
    args = ap.parse_args()
    if args.crop is not None and not 32 <= args.crop <= args.size:
        raise SystemExit(f"--crop {args.crop}: must be from 32 to --size ({args.size})")
    if not 0 <= args.crop_objects <= 1:
        raise SystemExit(f"--crop-objects {args.crop_objects}: must be a share from 0 to 1")

    torch.set_num_threads(args.threads)  # Debian's torch defaults to one thread
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    os.makedirs(args.out, exist_ok=True)

    t0 = time.time()
    print(f"loading {args.data} for {classes} at {args.size}px", flush=True)
    # Several datasets (comma-separated) train as one: e.g. the default mix plus a threat-dense set.
    # They fill one preallocated array: a concatenation would hold every image twice at its peak, which
    # at 384 px and 16000 images is 14 GB and got a run killed for memory beside another.
    dirs = args.data.split(",")
    files = [data.image_files(d, args.limit) for d in dirs]
    counts = [len(f) for f in files]
    # Checked before the minutes of caching, so a wrong --hard fails at once.
    hard_factor, hard_note = None, None
    if args.hard:
        paths = [os.path.join(d, "images", f) for d, names in zip(dirs, files) for f in names]
        hard = sampling.parse_hard(args.hard, classes, args.hard_labels)
        hard_factor = sampling.hard_factors(paths, hard, args.hard_factor)
        hard_note = f"{len(hard)} hard scans from {args.hard} come round {args.hard_factor}x"
        if args.hard_labels:
            hard_note += f" (errors of {args.hard_labels})"
    images = np.empty((sum(counts), args.size, args.size, 3), dtype=np.uint8)
    boxes, at = [], 0
    for d, k in zip(dirs, counts):
        boxes += data.load(d, classes, args.size, args.limit, out=images[at : at + k])[1]
        at += k
    n = len(images)
    print(f"{n} images, {sum(len(b) for b in boxes)} objects, cached in {time.time() - t0:.0f}s", flush=True)

    factors = sampling.parse_factors(args.repeat, classes)
    image_factor = sampling.image_factors(boxes, factors)
    if hard_factor is not None:
        image_factor = torch.maximum(image_factor, hard_factor)
        print(hard_note, flush=True)
    if factors or hard_factor is not None:
        print(f"{len(image_factor)} images count as {image_factor.sum():.0f} per epoch", flush=True)

    depth = netlib.parse_depth(args.depth) if args.depth else None
    if args.resume:
        net = netlib.load(args.resume, len(classes), depth)
        if args.light_s4 and not net.light_s4:
            raise SystemExit(f"--light-s4: {args.resume} has the full stride-4 neck; convert it with lighten.py first")
        print(f"resumed from {args.resume}", flush=True)
    else:
        net = Detector(len(classes), depth=depth or netlib.DEPTH, light_s4=args.light_s4)
    print(f"blocks per stage (stride 8, 16, 32): {net.depth}; stride-4 neck: {'depthwise-separable' if net.light_s4 else 'full 3x3'}", flush=True)
    print(f"parameters: {count_params(net)}", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=5e-4)
    budget = args.minutes * 60
    start = time.time()
    step, seen, log = 0, 0, []
    out_hw = (args.crop or args.size) // STRIDE
    crop_note = crops.describe(args.crop, args.crop_objects) if args.crop else None
    if crop_note:
        print(crop_note, flush=True)
    ema = emalib.Ema(net, args.ema) if args.ema else None
    if ema:
        print(ema.describe(), flush=True)
    net.train()
    while time.time() - start < budget:
        perm = sampling.epoch_order(image_factor, gen)
        for i in range(0, len(perm) - args.batch + 1, args.batch):
            elapsed = time.time() - start
            if elapsed >= budget:
                break
            frac = elapsed / budget
            warm = min(1.0, (step + 1) / max(1, args.warmup))
            lr = args.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = perm[i : i + args.batch]
            if args.crop:
                batch, bxs, ign = crops.crop_batch(images, boxes, idx.tolist(), args.crop, gen, args.crop_objects)
                batch, bxs, ign = data.augment(batch, bxs, gen, ignore=ign)
            else:
                batch = torch.from_numpy(images[idx.numpy()]).permute(0, 3, 1, 2).float() / 255.0
                batch, bxs = data.augment(batch, [boxes[j] for j in idx.tolist()], gen)
                ign = None
            tgt = targets.build_targets(bxs, len(classes), out_hw, out_hw, ignore_batch=ign)
            loss, parts = targets.detection_loss(net(batch), tgt)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            if ema:
                ema.update(net)
            step += 1
            seen += len(idx)
            if step % 50 == 0:
                rate = seen / (time.time() - start)
                entry = {"step": step, "minutes": round(elapsed / 60, 1), "lr": round(lr, 6), "loss": round(loss.item(), 4),
                         "heat": round(parts[0], 4), "size": round(parts[1], 4), "offset": round(parts[2], 4), "imagesPerSec": round(rate, 1)}
                log.append(entry)
                print(json.dumps(entry), flush=True)
        save_checkpoints(net, ema, args.out)

    onnx_path = os.path.join(args.out, "model.onnx")
    export.export(ema.shadow if ema else net, onnx_path, args.size)
    labels = [{"name": c, "category": "drug" if c.startswith("drug") else "prohibited"} for c in classes]
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=2)
        f.write("\n")
    log_path = os.path.join(args.out, "train-log.json")
    # A resumed run continues the one whose log is in --out: its runs come first, so the card can tell
    # the whole history (data, minutes, steps) rather than the last leg only.
    runs = []
    if args.resume and os.path.exists(log_path):
        runs = previous_runs(json.load(open(log_path)))
    runs.append({"data": args.data, "dataDescription": " + ".join(filter(None, (read_description(d) for d in args.data.split(",")))) or None, "minutes": args.minutes,
                 "steps": step, "imagesSeen": seen, "images": n, "lr": args.lr, "seed": args.seed,
                 "threads": args.threads, "resumedFrom": args.resume, "size": args.size, "depth": list(net.depth),
                 "lightS4": net.light_s4, "limit": args.limit, "augmentation": data.AUGMENTATION, "repeat": args.repeat or None,
                 "targets": targets.DESCRIPTION, "batch": args.batch, "crop": crop_note,
                 "ema": ema.describe() if ema else None, "hard": hard_note})
    with open(log_path, "w") as f:
        json.dump({"data": args.data, "resumedFrom": args.resume,
                   "totalMinutes": round(sum(r["minutes"] for r in runs), 1), "totalSteps": sum(r["steps"] for r in runs),
                   "totalImagesSeen": sum(r["imagesSeen"] for r in runs), "runs": runs,
                   "classes": classes, "size": args.size, "depth": list(net.depth), "lightS4": net.light_s4, "minutes": args.minutes, "batch": args.batch,
                   "lr": args.lr, "seed": args.seed, "threads": args.threads, "images": n, "steps": step, "imagesSeen": seen,
                   "parameters": count_params(net), "log": log}, f, indent=1)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) after {step} steps, {seen} images", flush=True)


if __name__ == "__main__":
    main()
