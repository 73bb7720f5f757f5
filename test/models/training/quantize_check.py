#!/usr/bin/python3
"""Runs models/training/quantize.py on a small float detector built here, shaped like ours.

    /usr/bin/python3 test/models/training/quantize_check.py DIR CALIB_DIR → one JSON line of findings
    (run by quantize.test.ts, which also compares the two models' outputs in onnxruntime)

Needs python3-onnx and numpy only, as CI has them: the graph is written by hand rather than exported
from torch. It has each pattern quantize.py must handle: the uint8 NHWC input normalised in the
graph, Conv+Relu, a residual Add, a stride-2 stage, a feature-pyramid lateral with an upsampling
Resize and Add, a depthwise and a pointwise Conv without and with bias, and a float head (1x1 Conv,
Sigmoid) that must stay float.
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TRAINING = os.path.join(os.path.dirname(__file__), "../../../models/training")
QUANTIZE = os.path.join(TRAINING, "quantize.py")
SATURATION = os.path.join(TRAINING, "saturation.py")
sys.path.insert(0, TRAINING)
from saturation import pair_errors  # noqa: E402
SIZE = 64
rng = np.random.default_rng(7)
inits, nodes = [], []


def const(name, array):
    inits.append(numpy_helper.from_array(np.asarray(array), name))
    return name


def conv(x, name, cin, cout, k=3, stride=1, group=1, bias=True):
    fan_in = cin // group * k * k
    w = const(f"{name}.w", (rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2 / fan_in)).astype(np.float32))
    ins = [x, w] + ([const(f"{name}.b", (rng.standard_normal(cout) * 0.1).astype(np.float32))] if bias else [])
    nodes.append(helper.make_node("Conv", ins, [f"{name}.out"], name=name, kernel_shape=[k, k],
                                  strides=[stride, stride], pads=[k // 2] * 4, group=group))
    return f"{name}.out"


def op(kind, ins, name, **attrs):
    nodes.append(helper.make_node(kind, ins, [name], name=name, **attrs))
    return name


def build(path):
    x = op("Transpose", ["images"], "nchw", perm=[0, 3, 1, 2])
    x = op("Cast", [x], "float", to=TensorProto.FLOAT)
    x = op("Div", [x, const("255", np.array(255, np.float32))], "unit")
    r1 = op("Relu", [conv(x, "c1", 3, 8, stride=2)], "r1")
    a = op("Relu", [conv(r1, "c2", 8, 8)], "c2.relu")
    r2 = op("Relu", [op("Add", [r1, conv(a, "c3", 8, 8)], "res")], "r2")
    r3 = op("Relu", [conv(r2, "c4", 8, 16, stride=2)], "r3")
    up = op("Resize", [conv(r3, "l4", 16, 8, k=1), "", const("scales", np.array([1, 1, 2, 2], np.float32))], "up",
            mode="nearest")
    fpn = op("Add", [conv(r2, "l2", 8, 8, k=1), up], "fpn")
    h = op("Relu", [conv(conv(fpn, "dw", 8, 8, group=8, bias=False), "pw", 8, 8, k=1)], "h")
    op("Sigmoid", [conv(h, "head", 8, 4, k=1)], "output0")
    graph = helper.make_graph(
        nodes, "quantize-check",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, ["batch", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4, SIZE // 2, SIZE // 2])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def ops(path):
    m = onnx.load(path)
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    float_convs = [n.name for n in m.graph.node
                   if n.op_type == "Conv" and not any(i.endswith("_dqw") for i in n.input)]
    return counts, float_convs


def main():
    out, calib = sys.argv[1], sys.argv[2]
    float_path, int8_path = os.path.join(out, "float.onnx"), os.path.join(out, "int8.onnx")
    build(float_path)
    done = subprocess.run([sys.executable, QUANTIZE, "--model", float_path, "--calib", calib, "--limit", "6",
                           "--out", int8_path], capture_output=True, text=True)
    found = {"exit": done.returncode, "stderr": done.stderr.strip().splitlines()[-1:]}
    if done.returncode == 0:
        with open(os.path.join(out, "quantization.json")) as f:
            found["record"] = json.load(f)
        found["ops"], found["floatConvs"] = ops(int8_path)
        again = subprocess.run([sys.executable, QUANTIZE, "--model", int8_path, "--calib", calib,
                                "--out", os.path.join(out, "twice.onnx")], capture_output=True, text=True)
        found["again"] = f"exit {again.returncode}: {again.stderr.strip()}"
        # The same model with the image-fed convolution made integer too, to show what saturation.py finds.
        os.makedirs(os.path.join(out, "image-int8"))
        image_int8 = os.path.join(out, "image-int8", "int8.onnx")
        subprocess.run([sys.executable, QUANTIZE, "--model", float_path, "--calib", calib, "--limit", "6",
                        "--image-int8", "--out", image_int8], check=True, capture_output=True)
        for key, path in (("saturation", int8_path), ("saturationImageInt8", image_int8)):
            sat = subprocess.run([sys.executable, SATURATION, "--model", path, "--data", calib, "--scans", "2"],
                                 capture_output=True, text=True, check=True)
            found[key] = [json.loads(line) for line in sat.stdout.splitlines()]
    # Pairs of products: 255 * (127 + 127) = 64770 saturates to 32767; 255 * (63 + 63) and opposite
    # signs do not. Columns are reduction steps, one per output position.
    cols = np.array([[255, 255, 255], [255, 255, 255]], np.uint8)
    found["pairs"] = [int(pair_errors(cols, np.array(w))[0]) for w in ([127, 127], [63, 63], [127, -127], [-127, -127])]
    print(json.dumps(found))


if __name__ == "__main__":
    main()
