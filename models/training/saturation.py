"""How an int8 model would compute on an x86 CPU without VNNI: emulates onnxruntime's int16 pair sums.

On CPUs with AVX2 or AVX-512 but no VNNI (Intel before Cascade Lake, AMD before Zen 4), onnxruntime
multiplies uint8 activations by int8 weights with VPMADDUBSW: each pair of adjacent products along
the reduction is added into an int16 that saturates at +-32767 before the pairs are summed in int32.
A machine with VNNI never shows the error, so it cannot be measured where the model was quantized;
this emulates it. For every integer convolution of a quantized model (quantize.py), it runs the
model on a few scans, takes the uint8 codes its input really has, and computes each output both
exactly and with saturated pairs, in both orders the runtime may lay the reduction out
(channel-fastest after an NHWC transform, or kernel-fastest as in NCHW).

usage: saturation.py --model MODEL-int8.onnx --data SCANS_DIR [--scans 3]
prints one line per convolution: the share of outputs that would differ, and the largest error in
steps of the output's own quantization (under about one step is rounding noise).

Depthwise convolutions run in a separate kernel that accumulates in int32 and are left out.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quantize import HERE, ROOT, consumers


def pair_errors(cols, w):
    """cols [K, P] uint8 codes, w [K] int8 weights → per output position, exact minus saturated sum."""
    if len(w) % 2:
        cols = np.concatenate([cols, np.zeros((1, cols.shape[1]), cols.dtype)])
        w = np.concatenate([w, [0]])
    pairs = (cols.astype(np.int32) * w.astype(np.int32)[:, None]).reshape(-1, 2, cols.shape[1]).sum(1)
    return (pairs - np.clip(pairs, -32768, 32767)).sum(0)


def im2col(a, kh, kw, stride, pad, zero, order):
    """a [C, H, W] uint8 → [K, positions], padded with the zero point (float 0) as the runtime does."""
    a = np.pad(a, ((0, 0), (pad, pad), (pad, pad)), constant_values=zero)
    oh, ow = (a.shape[1] - kh) // stride + 1, (a.shape[2] - kw) // stride + 1
    taps = np.stack([a[:, i:i + stride * oh:stride, j:j + stride * ow:stride] for i in range(kh) for j in range(kw)])
    if order == "channel-fastest":
        return taps.reshape(kh * kw * a.shape[0], oh * ow)
    return taps.transpose(1, 0, 2, 3).reshape(a.shape[0] * kh * kw, oh * ow)


def integer_convs(model):
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    made = {o: n for n in model.graph.node for o in n.output}
    uses = consumers(model.graph)
    for n in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type != "Conv" or attrs.get("group", 1) != 1:
            continue
        x_dq, w_dq = made.get(n.input[0]), made.get(n.input[1])
        if not (x_dq and w_dq and x_dq.op_type == w_dq.op_type == "DequantizeLinear"):
            continue
        out, after = n.output[0], uses.get(n.output[0], [])
        if len(after) == 1 and after[0].op_type == "Relu":
            out, after = after[0].output[0], uses.get(after[0].output[0], [])
        q = [u for u in after if u.op_type == "QuantizeLinear"]
        yield {
            "name": n.name or n.output[0],
            "codes": x_dq.input[0],
            "in_scale": float(inits[x_dq.input[1]]),
            "in_zero": int(inits[x_dq.input[2]]),
            "w": inits[w_dq.input[0]].astype(np.int32),
            "w_scale": inits[w_dq.input[1]].astype(np.float64),
            "out_scale": float(inits[q[0].input[1]]) if q else None,
            "kernel": attrs.get("kernel_shape", [1, 1]),
            "stride": attrs.get("strides", [1, 1])[0],
            "pad": attrs.get("pads", [0, 0, 0, 0])[0],
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a model quantized by quantize.py")
    ap.add_argument("--data", required=True, help="YOLO-format scans to run it on")
    ap.add_argument("--scans", type=int, default=3)
    args = ap.parse_args()
    model = onnx.load(args.model)
    convs = list(integer_convs(model))
    if not convs:
        raise SystemExit(f"{args.model} has no integer convolutions; quantize it with quantize.py first")
    with tempfile.TemporaryDirectory(prefix="saturation-") as tmp:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        for name in dict.fromkeys(c["codes"] for c in convs):
            probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.UINT8, None))
        onnx.save(probe, os.path.join(tmp, "probe.onnx"))
        subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "calibrate.ts"), "--probe",
                        os.path.join(tmp, "probe.onnx"), "--data", args.data, "--limit", str(args.scans),
                        "--dump", os.path.join(tmp, "dump")], check=True, cwd=ROOT)
        with open(os.path.join(tmp, "dump", "index.json")) as f:
            index = json.load(f)
        scans = []
        for entry in index:
            codes = {}
            for o in entry["outputs"]:
                if o["type"] == "uint8":
                    raw = np.fromfile(os.path.join(tmp, "dump", o["file"]), np.uint8)
                    codes[o["name"]] = raw.reshape(o["dims"])[0]
            scans.append(codes)
    report = []
    for c in convs:
        co = c["w"].shape[0]
        kh, kw = c["kernel"]
        row = {"conv": c["name"], "inputZeroPoint": c["in_zero"]}
        for order in ("channel-fastest", "kernel-fastest"):
            w = c["w"].transpose(0, 2, 3, 1).reshape(co, -1) if order == "channel-fastest" else c["w"].reshape(co, -1)
            differ = total = 0
            worst = 0.0
            for codes in scans:
                cols = im2col(codes[c["codes"]], kh, kw, c["stride"], c["pad"], c["in_zero"], order)
                for ch in range(co):
                    err = pair_errors(cols, w[ch])
                    differ += int(np.count_nonzero(err))
                    total += err.size
                    if c["out_scale"]:
                        steps = np.abs(err).max() * c["in_scale"] * c["w_scale"][ch] / c["out_scale"]
                        worst = max(worst, float(steps))
            row[order] = {"share": differ / total, "worstSteps": round(worst, 1)}
        report.append(row)
        print(json.dumps(row), flush=True)
    bad = [r["conv"] for r in report if max(r[o]["worstSteps"] for o in ("channel-fastest", "kernel-fastest")) > 1]
    print(f"{len(report)} integer convolutions on {len(scans)} scans; more than one output step off: "
          f"{', '.join(bad) if bad else 'none'}", file=sys.stderr)


if __name__ == "__main__":
    main()
