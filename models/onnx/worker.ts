/**
 * Inference worker thread entry. onnxruntime-node's session.run() executes on the calling thread, so
 * every session lives here, never on the gateway's event loop. One worker holds one session per
 * configured model, checks each against its config, warms it up, then serves jobs one at a time.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { errorMessage, isPgError, PgError } from '../../config/shared/errors.js';
import { decodeOutput, toSourceDetections } from '../decode/decode.js';
import { greyPixels, toTensorData } from '../preprocess/tensor.js';
import type {
  FromWorker,
  JobRequest,
  ModelReady,
  ToWorker,
  WorkerInit,
  WorkerModelSpec,
} from './protocol.js';
import { checkModelShapes, checkOutputDims } from './shapes.js';

interface LoadedModel {
  spec: WorkerModelSpec;
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  /** The input tensor's buffer, reused job after job: jobs run one at a time and run() is done with it. */
  scratch?: Float32Array | Uint8Array;
}

if (parentPort === null) throw new Error('models/onnx/worker.ts must run as a worker thread');
const port: MessagePort = parentPort;
const init = workerData as WorkerInit;
const send = (msg: FromWorker): void => port.postMessage(msg);

async function runModel(
  m: LoadedModel,
  pixels: Uint8Array,
): Promise<{ data: Float32Array; dims: readonly number[]; runMs: number }> {
  const t = toTensorData(pixels, m.spec.inputSpec, m.scratch);
  // Only a buffer of our own is kept; a uint8 NHWC input is the transferred job buffer itself.
  if (t.data !== pixels) m.scratch = t.data;
  const tensor =
    t.data instanceof Float32Array
      ? new ort.Tensor('float32', t.data, t.dims)
      : new ort.Tensor('uint8', t.data, t.dims);
  const start = performance.now();
  // Fetch only the output we decode; extra outputs (feature maps some exports keep) are never copied out.
  const results = await m.session.run({ [m.inputName]: tensor }, [m.outputName]);
  const runMs = performance.now() - start;
  const out = results[m.outputName];
  if (out === undefined || out.type !== 'float32' || !(out.data instanceof Float32Array)) {
    throw new Error(`model "${m.spec.name}": output "${m.outputName}" is missing or not float32`);
  }
  return { data: out.data, dims: out.dims, runMs };
}

async function loadModel(spec: WorkerModelSpec): Promise<{ model: LoadedModel; ready: ModelReady }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(spec.path, {
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new PgError('MODEL_LOAD', `model "${spec.name}" (${spec.path}): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const { inputName, outputName } = checkModelShapes(spec, session.inputMetadata, session.outputMetadata);
  const model: LoadedModel = { spec, session, inputName, outputName };
  // The first run allocates arenas and picks kernels; doing it here keeps it off the first parcel.
  const start = performance.now();
  let warm: { dims: readonly number[] };
  try {
    warm = await runModel(model, greyPixels(spec.inputSpec, spec.pad));
  } catch (err) {
    throw new PgError(
      'MODEL_LOAD',
      `model "${spec.name}" (${spec.path}) failed its warm-up run: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  checkOutputDims(spec, outputName, warm.dims);
  return { model, ready: { name: spec.name, inputName, outputName, warmupMs: performance.now() - start } };
}

async function handleJob(models: readonly LoadedModel[], job: JobRequest): Promise<void> {
  const start = performance.now();
  const m = models[job.model];
  try {
    if (m === undefined) throw new Error(`no model at index ${job.model}`);
    const out = await runModel(m, new Uint8Array(job.pixels));
    const candidates = decodeOutput(out.data, out.dims, m.spec.decode);
    const detections = toSourceDetections(candidates, job.transform, job.srcWidth, job.srcHeight);
    send({ type: 'result', id: job.id, detections, runMs: out.runMs, totalMs: performance.now() - start });
  } catch (err) {
    send({ type: 'job-error', id: job.id, message: errorMessage(err) });
  }
}

async function main(): Promise<void> {
  const models: LoadedModel[] = [];
  const ready: ModelReady[] = [];
  try {
    for (const spec of init.models) {
      const loaded = await loadModel(spec);
      models.push(loaded.model);
      ready.push(loaded.ready);
    }
  } catch (err) {
    const code = isPgError(err) ? err.code : 'MODEL_LOAD';
    send({ type: 'init-error', code, message: errorMessage(err) });
    return; // with no listener left the thread ends on its own, after the message is delivered
  }

  // Jobs are chained so a 'close' never releases a session under a run still in progress.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    chain = chain.then(async () => {
      if (msg.type === 'job') return handleJob(models, msg);
      for (const m of models) await m.session.release();
      port.close(); // ends the thread once idle; the pool terminates it if anything lingers
    });
  });
  send({ type: 'ready', models: ready });
}

void main();
