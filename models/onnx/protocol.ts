import type { ModelConfig } from '../../config/schema.js';
import type { ErrorCode } from '../../config/shared/errors.js';
import { type DecodeSpec, labelThresholds, type RawDetection } from '../decode/decode.js';
import type { LetterboxTransform } from '../preprocess/geometry.js';
import type { InputSpec } from '../preprocess/tensor.js';
import type { ShapeSpec } from './shapes.js';

/**
 * Messages between the pool (main thread) and its inference workers. Everything here is plain data:
 * it goes through structured clone, and pixel buffers go in the transfer list.
 */

/** What a worker needs to know of one model; derived from ModelConfig once, on the main thread. */
export interface WorkerModelSpec extends ShapeSpec {
  version: string;
  inputSpec: InputSpec;
  pad: number;
  decode: DecodeSpec;
}

export interface WorkerInit {
  models: WorkerModelSpec[];
  intraOpThreads: number;
}

export function toWorkerSpec(m: ModelConfig): WorkerModelSpec {
  const inputSpec: InputSpec = {
    width: m.input.width,
    height: m.input.height,
    layout: m.input.layout,
    dtype: m.input.dtype,
    scale: m.input.scale,
  };
  return {
    name: m.name,
    version: m.version,
    path: m.path,
    input: { width: m.input.width, height: m.input.height, layout: m.input.layout, dtype: m.input.dtype },
    output: m.output,
    numClasses: m.labels.length,
    inputSpec,
    pad: m.input.pad,
    decode: {
      output: m.output,
      thresholds: labelThresholds(m),
      iouThreshold: m.iouThreshold,
      maxDetections: m.maxDetections,
    },
  };
}

export interface JobRequest {
  type: 'job';
  id: number;
  /** Index into WorkerInit.models. */
  model: number;
  /** Letterboxed uint8 RGB HWC at the model's input size; transferred, not copied. */
  pixels: ArrayBuffer;
  transform: LetterboxTransform;
  srcWidth: number;
  srcHeight: number;
}

export interface CloseRequest {
  type: 'close';
}

export type ToWorker = JobRequest | CloseRequest;

export interface ModelReady {
  name: string;
  inputName: string;
  outputName: string;
  warmupMs: number;
}

export type FromWorker =
  | { type: 'ready'; models: ModelReady[] }
  | { type: 'init-error'; code: ErrorCode; message: string }
  | { type: 'result'; id: number; detections: RawDetection[]; runMs: number; totalMs: number }
  | { type: 'job-error'; id: number; message: string };
