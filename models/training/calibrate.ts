/**
 * Activation ranges for post-training quantization (quantize.py): runs a probe model, the float model
 * with every tensor to be quantized added as an output, over calibration scans prepared exactly as
 * the gateway prepares them (decodeView, then the letterbox), and writes each tensor's minimum and
 * maximum per image. quantize.py picks the range from those; keeping them per image lets it choose
 * the absolute extremes or their mean without running the model again.
 *
 * usage: node --import tsx models/training/calibrate.ts --probe PROBE.onnx --data DIR --out RANGES.json
 *          [--limit N] [--pad 114]
 *        … --probe PROBE.onnx --data DIR --dump DIR [--limit N]: writes every output of each scan as raw
 *          bytes (DIR/SCAN-OUTPUT.bin, listed in DIR/index.json), for saturation.py
 *
 * The calibration scans must not be the held-out set the card scores on: that would tune the ranges
 * to the test. A few hundred training scans are plenty.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeView } from '../../gateway/pipeline/decode.js';
import { readDataset } from '../eval/dataset.js';
import { letterbox } from '../preprocess/letterbox.js';

interface Range {
  min: number[];
  max: number[];
}

/** Every step-th scan, so a short calibration still spans the whole dataset rather than its first seeds. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)] as T);
}

function extremes(data: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      probe: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string', default: '200' },
      pad: { type: 'string', default: '114' },
      dump: { type: 'string' },
    },
  });
  if (!values.probe || !values.data || (!values.out && !values.dump)) {
    throw new Error(
      'usage: calibrate.ts --probe PROBE.onnx --data DIR (--out RANGES.json | --dump DIR) [--limit N] [--pad 114]',
    );
  }
  const dump = values.dump;
  if (dump) mkdirSync(dump, { recursive: true });
  const index: {
    scan: string;
    outputs: { name: string; type: string; dims: readonly number[]; file: string }[];
  }[] = [];
  const limit = Number(values.limit);
  const pad = Number(values.pad);
  const session = await ort.InferenceSession.create(values.probe, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const input = session.inputNames[0];
  const meta = session.inputMetadata[0];
  if (input === undefined || meta === undefined || !meta.isTensor || meta.type !== 'uint8') {
    throw new Error(`${values.probe}: calibration supports the gateway's uint8 NHWC input only`);
  }
  const [, h, w, c] = meta.shape;
  if (typeof h !== 'number' || typeof w !== 'number' || c !== 3) {
    throw new Error(`${values.probe}: input shape ${JSON.stringify(meta.shape)} is not [N, H, W, 3]`);
  }
  const dataset = await readDataset(values.data);
  const scans = spread(dataset.images, limit);
  const ranges = new Map<string, Range>(session.outputNames.map((n) => [n, { min: [], max: [] }]));
  for (const [i, scan] of scans.entries()) {
    const view = await decodeView(
      { kind: 'image', view: 'main', originalName: scan.path, from: scan.path, to: scan.path },
      40_000_000,
    );
    const boxed = await letterbox({ data: view.rgb, width: view.width, height: view.height }, w, h, pad);
    const outputs = await session.run({ [input]: new ort.Tensor('uint8', boxed.pixels, [1, h, w, 3]) });
    if (dump) {
      const entry = { scan: scan.path, outputs: [] as (typeof index)[number]['outputs'] };
      for (const [k, name] of session.outputNames.entries()) {
        const t = outputs[name];
        if (t === undefined) throw new Error(`probe output ${name} missing`);
        const data = t.data as Float32Array | Uint8Array;
        const file = `${i}-${k}.bin`;
        writeFileSync(join(dump, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        entry.outputs.push({ name, type: t.type, dims: t.dims, file });
      }
      index.push(entry);
      continue;
    }
    for (const [name, range] of ranges) {
      const t = outputs[name];
      if (t === undefined || t.type !== 'float32') throw new Error(`probe output ${name} is not float32`);
      const [lo, hi] = extremes(t.data as Float32Array);
      range.min.push(lo);
      range.max.push(hi);
    }
    if ((i + 1) % 50 === 0) process.stderr.write(`  ${i + 1}/${scans.length} scans\n`);
  }
  await session.release();
  if (dump) {
    writeFileSync(join(dump, 'index.json'), `${JSON.stringify(index)}\n`);
    process.stderr.write(`dumped ${session.outputNames.length} outputs of ${scans.length} scans → ${dump}\n`);
    return;
  }
  if (!values.out) return;
  writeFileSync(
    values.out,
    `${JSON.stringify({ probe: values.probe, data: values.data, scans: scans.length, tensors: Object.fromEntries(ranges) })}\n`,
  );
  process.stderr.write(`calibrated ${ranges.size} tensors on ${scans.length} scans → ${values.out}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
