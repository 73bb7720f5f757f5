#!/usr/bin/python3
"""Swaps a trained detector's stride-4 neck for depthwise-separable convolutions, taught by the original.

    /usr/bin/python3 models/training/lighten.py --checkpoint IN.pt --data DIR --classes gun,... \\
        --size 512 --minutes 6 --out OUT.pt

The last smoothing conv and the head run at a quarter of the input size, and as full 3x3 convolutions
they were a third of the network's compute. Their depthwise-separable replacements start untrained, so
rather than let them learn from the detection loss (which would first wreck the heads they feed), they
learn to reproduce the original's head features on training scans, with everything else frozen.

That is a starting point, not a model. The features come close (a relative error of ~4 % for the
prohibited model after six minutes), but heatmap peaks are sparse and sensitive to them: its held-out
mAP50 was 0.26 before the fine-tune. train.py --resume must then train the whole network with the
detection loss; never export a lightened checkpoint without that.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

import data
import net as netlib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True, help="a trained detector with the full stride-4 neck")
    ap.add_argument("--data", required=True, help="YOLO dataset folder (training scans; labels are not used)")
    ap.add_argument("--classes", required=True)
    ap.add_argument("--size", type=int, required=True, help="the input size the network will be trained at")
    ap.add_argument("--minutes", type=float, default=6)
    ap.add_argument("--steps", type=int, default=None,
                    help="stop after this many steps instead of --minutes (the same work on a busy machine)")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    teacher = netlib.load(args.checkpoint, len(classes)).eval()
    if teacher.light_s4:
        raise SystemExit(f"{args.checkpoint} already has the depthwise-separable stride-4 neck")
    student = netlib.Detector(len(classes), depth=teacher.depth, light_s4=True)
    new = ("smooth.2.", "head.")
    kept = {k: v for k, v in teacher.state_dict().items() if not k.startswith(new)}
    missing, unexpected = student.load_state_dict(kept, strict=False)
    if unexpected or any(not k.startswith(new) for k in missing):
        raise SystemExit(f"{args.checkpoint} does not fit: missing {missing[:4]}, unexpected {unexpected[:4]}")
    for name, param in student.named_parameters():
        param.requires_grad = name.startswith(new)
    trained = [p for p in student.parameters() if p.requires_grad]
    print(f"new layers: {sorted({k.rsplit('.', 2)[0] for k in missing})}", flush=True)

    images, _ = data.load(args.data, classes, args.size, args.images)
    opt = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0)
    student.eval()  # the frozen trunk keeps its batch-norm statistics; only the new layers' statistics update
    student.smooth[2].train()
    student.head.train()
    budget, start, step = args.minutes * 60, time.time(), 0

    def progress():
        return step / args.steps if args.steps else (time.time() - start) / budget

    while progress() < 1:
        idx = torch.randint(len(images), (args.batch,), generator=gen).numpy()
        x = torch.from_numpy(images[np.sort(idx)]).permute(0, 3, 1, 2).float() / 255.0
        with torch.no_grad():
            p = teacher.s4_input(x)
            want = teacher.s4_neck(p)
        got = student.s4_neck(p)
        # Relative error, so the figure reads the same whatever the features' scale.
        loss = F.mse_loss(got, want) / want.pow(2).mean().clamp(min=1e-8)
        lr = args.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, progress())))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 25 == 0:
            print(json.dumps({"step": step, "minutes": round((time.time() - start) / 60, 1), "relativeError": round(loss.item(), 4)}), flush=True)
    torch.save(student.state_dict(), args.out)
    print(f"wrote {args.out} after {step} steps", flush=True)


if __name__ == "__main__":
    main()
