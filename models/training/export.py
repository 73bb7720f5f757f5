"""ONNX export in the gateway's contract: uint8 NHWC in, normalisation inside the graph, YOLOv8 layout out.

Output [N, 4+C, H/4*W/4]: cx, cy, w, h in input pixels, then per-class scores. A 3x3 max-pool keeps
only heatmap peaks (CenterNet's NMS), so the gateway's class-wise NMS sees few candidates.
"""
import torch
from torch import nn
import torch.nn.functional as F

from net import STRIDE


class Exported(nn.Module):
    def __init__(self, net, size):
        super().__init__()
        self.net = net
        # Python ints, not traced shapes: the ONNX output is then [batch, 4+C, cells] with only the
        # batch dimension dynamic, so the gateway can check it against the config at start.
        self.grid = size // STRIDE
        self.classes = net.heat.out_channels

    def forward(self, images):
        x = images.permute(0, 3, 1, 2).float() / 255.0
        boxes, scores = decode(*self.net(x), self.grid, self.grid)
        peaks = (F.max_pool2d(scores, 3, stride=1, padding=1) == scores).float()
        scores = scores * peaks
        return torch.cat([boxes, scores], 1).reshape(-1, 4 + self.classes, self.grid * self.grid)


def decode(heat, size, off, gh, gw):
    """The heads as boxes per cell: ([N,4,gh,gw] cx, cy, w, h in input pixels, [N,C,gh,gw] scores).

    gh/gw are Python ints so an exported graph keeps static cell counts."""
    ys = torch.arange(gh, dtype=torch.float32).view(1, gh, 1).expand(1, gh, gw)
    xs = torch.arange(gw, dtype=torch.float32).view(1, 1, gw).expand(1, gh, gw)
    o = torch.sigmoid(off)
    cx = (xs + o[:, 0]) * STRIDE
    cy = (ys + o[:, 1]) * STRIDE
    bw = torch.exp(size[:, 0].clamp(max=6)) * STRIDE
    bh = torch.exp(size[:, 1].clamp(max=6)) * STRIDE
    return torch.stack([cx, cy, bw, bh], 1), torch.sigmoid(heat)


def export(net, path, size):
    net.eval()
    wrapped = Exported(net, size)
    dummy = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    torch.onnx.export(
        wrapped,
        dummy,
        path,
        input_names=["images"],
        output_names=["output0"],
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )


if __name__ == "__main__":
    # Re-export a checkpoint: export.py CHECKPOINT CLASSES SIZE OUT.onnx
    import sys

    import net

    ckpt, classes, size, out = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
    export(net.load(ckpt, len(classes)), out, size)
    print(f"wrote {out}")
