"""Post-training int8 quantization of an exported detector, in ONNX's QDQ form.

Every activation that feeds a convolution, a residual or feature-pyramid addition, or an upsampling
gets a QuantizeLinear/DequantizeLinear pair; convolution weights become int8 per output channel and
biases int32. ONNX Runtime fuses each DequantizeLinear -> Conv -> (Relu ->) QuantizeLinear into one
integer convolution: on our reference CPU (with VNNI) the shipped detectors ran 2.3-2.4x as fast as
in float (their cards). The graph stays
an ordinary ONNX file: the same input and output contract, and any runtime that knows opset 13 runs
it (one without integer kernels computes the same numbers in float).

What stays float, on purpose: the convolution fed by the image (see image_convolutions: CPUs without
VNNI would get it wrong), the last 1x1 convolutions of the heads and the decode after them (sigmoids,
exponentials, the peak max-pool), where rounding would move boxes and scores for no speed worth having.

Activation ranges come from calibrate.ts, run on training scans through the gateway's own
preparation of an image. A range is the mean over scans of each scan's extremes (--method mean),
or the extremes over all of them (--method minmax, the default). The mean clips what only a few scans
reach, and those can be the ones that matter: on the drug model it cut drug-brick AP50 from 0.86 to
0.55 (big bricks drive some channels far past the typical scan), where minmax cost 0.01.

usage: quantize.py --model MODEL.onnx --calib DATA_DIR --out MODEL-int8.onnx [--limit 200]
       [--method mean|minmax] [--ranges RANGES.json (reuse a calibration)]
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ACTIVATION_OPS = {"Conv", "Add", "Resize"}


def consumers(graph):
    out = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def constant_names(graph):
    names = {i.name for i in graph.initializer}
    names.update(o for n in graph.node if n.op_type == "Constant" for o in n.output)
    return names


def float4d(model):
    """Names of float tensors of rank 4: the feature maps. Shape tensors and the decode are not."""
    inferred = onnx.shape_inference.infer_shapes(model)
    out = set()
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        t = vi.type.tensor_type
        if t.elem_type == TensorProto.FLOAT and t.HasField("shape") and len(t.shape.dim) == 4:
            out.add(vi.name)
    return out


def plan(model, image_int8=False):
    """(tensors to quantize, convolutions whose weights become int8).

    A tensor is quantized where it is a feature map feeding a Conv, Add or Resize. A convolution's
    weights are quantized only where its output is quantized too (directly, or after one Relu), since
    only then does the runtime fuse it into an integer convolution; the heads' last convolutions
    therefore stay float."""
    graph = model.graph
    consts = constant_names(graph)
    maps = float4d(model)
    image_convs = set() if image_int8 else image_convolutions(graph)
    tensors = []
    for node in graph.node:
        if node.op_type not in ACTIVATION_OPS or (node.name or node.output[0]) in image_convs:
            continue
        inputs = node.input[:1] if node.op_type in ("Conv", "Resize") else node.input
        if node.op_type == "Add" and any(i in consts for i in inputs):
            continue
        for name in inputs:
            if name in maps and name not in consts and name not in tensors:
                tensors.append(name)
    quantized = set(tensors)
    uses = consumers(graph)
    convs = []
    for node in graph.node:
        if node.op_type != "Conv" or node.input[0] not in quantized:
            continue
        out = node.output[0]
        after = uses.get(out, [])
        if out in quantized or (len(after) == 1 and after[0].op_type == "Relu" and after[0].output[0] in quantized):
            convs.append(node.name or out)
    return tensors, convs


def probe(model, tensors, path):
    """The model with each tensor to be quantized as an extra output, for calibrate.ts."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for name in tensors:
        m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    onnx.save(m, path)


def activation_params(lo, hi):
    """uint8, asymmetric: the range always holds 0 so that zero (padding, Relu's floor) is exact."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zero)


def choose_range(entry, method):
    lo, hi = np.array(entry["min"], np.float64), np.array(entry["max"], np.float64)
    if method == "minmax":
        return float(lo.min()), float(hi.max())
    return float(lo.mean()), float(hi.mean())


def image_convolutions(graph):
    """Convolutions fed by the image itself (no convolution upstream of their input): these stay float.

    On x86 CPUs without VNNI (before Intel's Cascade Lake and AMD's Zen 4)
    onnxruntime multiplies uint8 activations by int8 weights with VPMADDUBSW, which adds pairs of
    products into int16 and saturates past 32767. An X-ray scan is mostly near-white, so the first
    convolution sees pixel codes near 255 everywhere: emulating that kernel on the drug model with
    8-bit weights (saturation.py, on a build made with --image-int8), 65-72 % of the stem's outputs
    saturated, up to 55 output steps off; in every other convolution at most 0.3 % did, by at most 11
    steps (feature maps sit far below their calibrated maxima). 7-bit weights, which cannot saturate (255 * (63 + 63) < 32767), are onnxruntime's remedy,
    but with three input channels the stem is also the convolution that rounding hurts most: 7-bit
    on the stem alone cost the drug model 0.03 mAP50. In float it costs about 1.5 % of the network's
    compute and nothing in accuracy."""
    made = {o: n for n in graph.node for o in n.output}
    fed_by_conv = {}

    def downstream_of_conv(name):
        if name not in fed_by_conv:
            node = made.get(name)
            fed_by_conv[name] = node is not None and (
                node.op_type == "Conv" or any(downstream_of_conv(i) for i in node.input if i))
        return fed_by_conv[name]

    return {n.name or n.output[0] for n in graph.node if n.op_type == "Conv" and not downstream_of_conv(n.input[0])}


def quantize(model, ranges, method, image_int8=False):
    graph = model.graph
    tensors, convs = plan(model, image_int8)
    missing = [t for t in tensors if t not in ranges]
    if missing:
        raise SystemExit(f"the ranges file lacks {len(missing)} tensors (first: {missing[0]}); calibrate this model again")
    inits = {i.name: i for i in graph.initializer}
    scales = {}
    new_inits, new_nodes = [], {}
    for t in tensors:
        scale, zero = activation_params(*choose_range(ranges[t], method))
        scales[t] = float(scale)
        s, z = f"{t}_scale", f"{t}_zero"
        new_inits += [numpy_helper.from_array(np.array(scale), s), numpy_helper.from_array(np.array(zero), z)]
        new_nodes[t] = [
            helper.make_node("QuantizeLinear", [t, s, z], [f"{t}_q"], name=f"{t}_Q"),
            helper.make_node("DequantizeLinear", [f"{t}_q", s, z], [f"{t}_dq"], name=f"{t}_DQ"),
        ]
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in new_nodes:
                node.input[i] = f"{name}_dq"
        if (node.name or node.output[0]) in convs:
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
            w_scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-12) / 127.0
            wq = np.clip(np.round(w / w_scale.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            base = node.input[1]
            new_inits += [numpy_helper.from_array(wq, f"{base}_q"),
                          numpy_helper.from_array(w_scale.astype(np.float32), f"{base}_wscale"),
                          numpy_helper.from_array(np.zeros(w.shape[0], np.int8), f"{base}_wzero")]
            dq = [helper.make_node("DequantizeLinear", [f"{base}_q", f"{base}_wscale", f"{base}_wzero"],
                                   [f"{base}_dqw"], name=f"{base}_DQW", axis=0)]
            node.input[1] = f"{base}_dqw"
            if len(node.input) > 2 and node.input[2]:
                b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
                # The input was rewired to its DQ output above, so look its scale up by the original name.
                b_scale = scales[node.input[0][: -len("_dq")]] * w_scale
                bq = np.round(b / b_scale).astype(np.int32)
                bb = node.input[2]
                new_inits += [numpy_helper.from_array(bq, f"{bb}_q"),
                              numpy_helper.from_array(b_scale.astype(np.float32), f"{bb}_bscale"),
                              numpy_helper.from_array(np.zeros(w.shape[0], np.int32), f"{bb}_bzero")]
                dq.append(helper.make_node("DequantizeLinear", [f"{bb}_q", f"{bb}_bscale", f"{bb}_bzero"],
                                           [f"{bb}_dqb"], name=f"{bb}_DQB", axis=0))
                node.input[2] = f"{bb}_dqb"
            new_nodes.setdefault(("weights", node.name or node.output[0]), dq)
    # Rebuild in order: each Q/DQ pair right after its tensor's producer, weight DQs before their Conv.
    order = []
    for node in graph.node:
        key = ("weights", node.name or node.output[0])
        order += new_nodes.get(key, [])
        order.append(node)
        for o in node.output:
            order += new_nodes.get(o, [])
    used = {i for n in order for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(order)
    del graph.initializer[:]
    graph.initializer.extend(keep + new_inits)
    onnx.checker.check_model(model)
    return len(tensors), len(convs)


def is_quantized(model):
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the float export (train.py's model.onnx, or export.py's)")
    ap.add_argument("--calib", help="YOLO-format training scans to calibrate on (never the held-out set)")
    ap.add_argument("--ranges", help="a ranges file from an earlier calibration of this model")
    ap.add_argument("--limit", type=int, default=200, help="calibration scans (default 200)")
    ap.add_argument("--method", choices=["mean", "minmax"], default="minmax")
    ap.add_argument("--image-int8", action="store_true",
                    help="quantize the convolutions fed by the image too: for measuring saturation.py's case, not for use")
    ap.add_argument("--out", required=True, help="may be --model itself; quantization.json is written beside it")
    args = ap.parse_args()
    model = onnx.load(args.model)
    if is_quantized(model):
        raise SystemExit(f"{args.model} is already quantized; export the float model from checkpoint.pt "
                         "(export.py CHECKPOINT CLASSES SIZE OUT.onnx) and quantize that")
    tensors, _ = plan(model, args.image_int8)
    ranges_path = args.ranges
    with tempfile.TemporaryDirectory(prefix="quantize-") as tmp:
        if ranges_path is None:
            if not args.calib:
                raise SystemExit("give --calib DIR (training scans) or --ranges FILE")
            probe_path = os.path.join(tmp, "probe.onnx")
            probe(model, tensors, probe_path)
            ranges_path = os.path.join(tmp, "ranges.json")
            subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "calibrate.ts"), "--probe", probe_path,
                            "--data", args.calib, "--limit", str(args.limit), "--out", ranges_path],
                           check=True, cwd=ROOT)
        with open(ranges_path) as f:
            calibration = json.load(f)
    n_tensors, n_convs = quantize(model, calibration["tensors"], args.method, args.image_int8)
    onnx.save(model, args.out)
    record = {
        "from": os.path.basename(args.model),
        "activations": f"{n_tensors} feature maps, uint8 asymmetric, per tensor",
        "weights": f"{n_convs} convolutions, int8 symmetric per output channel; biases int32",
        "method": args.method,
        "imageConvolutions": "int8 (--image-int8)" if args.image_int8 else "float",
        "calibration": {"data": args.calib or calibration.get("data"), "scans": calibration["scans"]},
    }
    with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), "quantization.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"{args.out}: {n_tensors} activations uint8, {n_convs} convolutions int8 "
          f"({calibration['scans']} calibration scans, method {args.method})", file=sys.stderr)


if __name__ == "__main__":
    main()
