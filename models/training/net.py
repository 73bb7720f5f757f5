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


def dws(c):
    """Depthwise-separable 3x3 (per-channel 3x3, then 1x1): an eighth of a full 3x3's cost at 64 channels.

    For the stride-4 neck, whose two full 3x3 convolutions at a quarter of the input size were a third
    of the network's compute; the saving pays for a larger input or more depth in the same time."""
    return nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
                         nn.BatchNorm2d(c), nn.ReLU(inplace=True))


class Block(nn.Module):
    """Residual 3x3-3x3 block: depth at low cost where the receptive field must grow."""

    def __init__(self, c, identity=False):
        super().__init__()
        self.a = cbr(c, c)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
        if identity:
            # A zero last BN scale makes the block pass its input through unchanged: a block added to a
            # trained network leaves its outputs as they were and only then starts to learn.
            nn.init.zeros_(self.b[1].weight)

    def forward(self, x):
        return F.relu(x + self.b(self.a(x)))


STAGES = ("s8", "s16", "s32")
DEPTH = (1, 2, 1)  # residual blocks in STAGES of a network that has not been grown


def parse_depth(text):
    """`1,3,2` (a --depth option) as a tuple of three block counts."""
    depth = tuple(int(d) for d in text.split(","))
    if len(depth) != 3 or min(depth) < 1:
        raise SystemExit(f"--depth {text}: give three block counts of at least 1, for stride 8, 16 and 32")
    return depth


def stage(cin, cout, blocks, identity_from):
    """A stride-2 conv then `blocks` residual blocks; those from index `identity_from` start as identity."""
    return nn.Sequential(cbr(cin, cout, 2), *(Block(cout, identity=i >= identity_from) for i in range(blocks)))


class Detector(nn.Module):
    def __init__(self, num_classes, width=(24, 48, 80, 128, 160), neck=64, depth=DEPTH, grown_from=None, light_s4=False):
        """`grown_from`: the depth of a checkpoint this network will be loaded from; its extra blocks
        then start as identity, so the loaded network computes what it did before it grew.
        `light_s4`: the stride-4 neck (the last smoothing conv and the head) depthwise-separable."""
        super().__init__()
        c1, c2, c3, c4, c5 = width
        base = grown_from or depth
        self.depth = tuple(depth)
        self.light_s4 = light_s4
        self.stem = nn.Sequential(cbr(3, c1, 2), cbr(c1, c2, 2))  # /4
        self.s8 = stage(c2, c3, depth[0], base[0])  # /8
        self.s16 = stage(c3, c4, depth[1], base[1])  # /16
        self.s32 = stage(c4, c5, depth[2], base[2])  # /32
        self.l32 = nn.Conv2d(c5, neck, 1)
        self.l16 = nn.Conv2d(c4, neck, 1)
        self.l8 = nn.Conv2d(c3, neck, 1)
        self.l4 = nn.Conv2d(c2, neck, 1)
        def s4():
            return dws(neck) if light_s4 else cbr(neck, neck)

        self.smooth = nn.ModuleList([cbr(neck, neck), cbr(neck, neck), s4()])
        self.head = s4()
        self.heat = nn.Conv2d(neck, num_classes, 1)
        self.size = nn.Conv2d(neck, 2, 1)
        self.offset = nn.Conv2d(neck, 2, 1)
        nn.init.constant_(self.heat.bias, -2.19)  # prior 0.1: stable focal loss from the first step

    def s4_input(self, x):
        """Everything before the stride-4 neck: its input, the sum of the stride-4 lateral and the
        upsampled coarser levels (lighten.py teaches a new neck on it)."""
        f4 = self.stem(x)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        p = self.l32(f32)
        for lat, feat, smooth in ((self.l16, f16, self.smooth[0]), (self.l8, f8, self.smooth[1])):
            p = smooth(lat(feat) + F.interpolate(p, size=feat.shape[-2:], mode="nearest"))
        return self.l4(f4) + F.interpolate(p, size=f4.shape[-2:], mode="nearest")

    def s4_neck(self, p):
        return self.head(self.smooth[2](p))

    def forward(self, x):
        """x: float NCHW in [0,1]. Returns heatmap logits, log box size (in stride units), offset logits."""
        h = self.s4_neck(self.s4_input(x))
        return self.heat(h), self.size(h), self.offset(h)


def depth_of(state):
    """The blocks per stage of a saved state dict (its keys name them: s16.2.a.0.weight is in s16's second)."""
    def blocks(stage_name):
        idx = {int(k.split(".")[1]) for k in state if k.startswith(stage_name + ".") and k.endswith(".a.0.weight")}
        return len(idx)

    return tuple(blocks(n) for n in STAGES)


def light_s4_of(state):
    """Whether a saved state dict has the depthwise-separable stride-4 neck (its head's first conv is per channel)."""
    return state["head.0.weight"].shape[1] == 1


def load(path, num_classes, depth=None):
    """A detector from a checkpoint, at the checkpoint's own depth or grown to `depth` (never shrunk)."""
    state = torch.load(path)
    saved = depth_of(state)
    depth = tuple(depth or saved)
    if any(d < s for d, s in zip(depth, saved)):
        raise SystemExit(f"{path} has {saved} blocks per stage; a network cannot shrink to {depth}")
    net = Detector(num_classes, depth=depth, grown_from=saved, light_s4=light_s4_of(state))
    missing, unexpected = net.load_state_dict(state, strict=False)
    # Only the added blocks may be missing (index 0 of a stage is its stride-2 conv, blocks follow);
    # anything else means the checkpoint is not this network.
    added = tuple(f"{n}.{i}." for n, s, d in zip(STAGES, saved, depth) for i in range(s + 1, d + 1))
    other = [k for k in missing if not k.startswith(added)]
    if other or unexpected:
        raise SystemExit(f"{path} does not fit the detector: missing {other[:4]}, unexpected {unexpected[:4]}")
    return net


def count_params(model):
    return sum(p.numel() for p in model.parameters())
