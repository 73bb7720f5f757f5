import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { toTensorData } from '../models/preprocess/tensor.js';

/**
 * The reference: one ONNX Runtime session running back to back on ready-made input tensors, with
 * the same session options the gateway's workers use. Nothing else: no decode, no I/O, no queue.
 */
interface Job {
  modelPath: string;
  threads: number;
  seconds: number;
  spec: { width: number; height: number; layout: 'nchw' | 'nhwc'; dtype: 'float32' | 'uint8'; scale: number };
  inputs: Uint8Array[];
}

const job = workerData as Job;
const session = await ort.InferenceSession.create(job.modelPath, {
  intraOpNumThreads: job.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const name = session.inputNames[0]!;
const tensors = job.inputs.map((px) => {
  const t = toTensorData(px, job.spec);
  return t.data instanceof Float32Array
    ? new ort.Tensor('float32', t.data, t.dims)
    : new ort.Tensor('uint8', t.data, t.dims);
});
for (const t of tensors.slice(0, 3)) await session.run({ [name]: t });
let runs = 0;
const start = performance.now();
const end = start + job.seconds * 1000;
while (performance.now() < end) {
  await session.run({ [name]: tensors[runs % tensors.length]! });
  runs += 1;
}
parentPort!.postMessage({ runs, ms: performance.now() - start });
await session.release();
