"""The detector: a small CenterNet-style network (stride-4 centre heatmaps, box size, sub-cell offset).

CenterNet suits thin, rotated threats (knives) better than anchor boxes: an object is its centre
point, whatever its aspect ratio. The exported graph (see export.py) turns the three heads into the
YOLOv8 layout [N, 4+C, cells] so the gateway's standard decoder and NMS serve it unchanged.
"""
import torch
from torch import nn
import torch.nn.functional as F

STRIDE = 4


def cbr(cin, cout, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Block(nn.Module):
    """Residual 3x3-3x3 block: depth at low cost where the receptive field must grow."""

    def __init__(self, c):
        super().__init__()
        self.a = cbr(c, c)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.b(self.a(x)))


class Detector(nn.Module):
    def __init__(self, num_classes, width=(24, 48, 80, 128, 160), neck=64):
        super().__init__()
        c1, c2, c3, c4, c5 = width
        self.stem = nn.Sequential(cbr(3, c1, 2), cbr(c1, c2, 2))  # /4
        self.s8 = nn.Sequential(cbr(c2, c3, 2), Block(c3))  # /8
        self.s16 = nn.Sequential(cbr(c3, c4, 2), Block(c4), Block(c4))  # /16
        self.s32 = nn.Sequential(cbr(c4, c5, 2), Block(c5))  # /32
        self.l32 = nn.Conv2d(c5, neck, 1)
        self.l16 = nn.Conv2d(c4, neck, 1)
        self.l8 = nn.Conv2d(c3, neck, 1)
        self.l4 = nn.Conv2d(c2, neck, 1)
        self.smooth = nn.ModuleList([cbr(neck, neck) for _ in range(3)])
        self.head = cbr(neck, neck)
        self.heat = nn.Conv2d(neck, num_classes, 1)
        self.size = nn.Conv2d(neck, 2, 1)
        self.offset = nn.Conv2d(neck, 2, 1)
        nn.init.constant_(self.heat.bias, -2.19)  # prior 0.1: stable focal loss from the first step

    def forward(self, x):
        """x: float NCHW in [0,1]. Returns heatmap logits, log box size (in stride units), offset logits."""
        f4 = self.stem(x)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        p = self.l32(f32)
        for lat, feat, smooth in ((self.l16, f16, self.smooth[0]), (self.l8, f8, self.smooth[1]), (self.l4, f4, self.smooth[2])):
            p = smooth(lat(feat) + F.interpolate(p, size=feat.shape[-2:], mode="nearest"))
        h = self.head(p)
        return self.heat(h), self.size(h), self.offset(h)


def count_params(model):
    return sum(p.numel() for p in model.parameters())
