#!/usr/bin/python3
"""Multiply-accumulates of the detector at an input size, counted from the real layers (FLOPs = 2 x MACs).

    /usr/bin/python3 models/training/flops.py --classes 6 --size 416 [--depth 1,2,1] [--light-s4]   → {"params", "macs", "flops", "depth"}
"""
import argparse
import json

import torch
from torch import nn

from net import DEPTH, Detector, count_params, parse_depth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--depth", default=",".join(map(str, DEPTH)), help="residual blocks at stride 8,16,32")
    ap.add_argument("--light-s4", action="store_true", help="depthwise-separable stride-4 neck (see lighten.py)")
    args = ap.parse_args()
    net = Detector(args.classes, depth=parse_depth(args.depth), light_s4=args.light_s4).eval()
    macs = [0]

    def hook(module, _inp, out):
        k = module.kernel_size[0] * module.kernel_size[1]
        macs[0] += out.numel() * (module.in_channels // module.groups) * k

    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(1, 3, args.size, args.size))
    print(json.dumps({"params": count_params(net), "macs": macs[0], "flops": 2 * macs[0], "depth": list(net.depth), "lightS4": net.light_s4}))


if __name__ == "__main__":
    main()
