import type { Box } from '../../config/shared/types.js';
import { type LetterboxTransform, unletterbox } from '../preprocess/geometry.js';
import { type Candidate, nmsClasswise, topK } from './nms.js';
import { type ClassThresholds, classThresholds, decodeE2e, decodeYolov5, decodeYolov8 } from './yolo.js';

export type OutputLayout = 'yolov5' | 'yolov8' | 'e2e';

/** What decoding needs of a model's config; plain data so it crosses into the worker thread. */
export interface DecodeSpec {
  output: OutputLayout;
  /** Per class index: label.threshold ?? model.scoreThreshold. */
  thresholds: readonly number[];
  iouThreshold: number;
  maxDetections: number;
}

export interface LabelThresholdSource {
  labels: ReadonlyArray<{ threshold?: number | undefined }>;
  scoreThreshold: number;
}

export function labelThresholds(model: LabelThresholdSource): number[] {
  return model.labels.map((l) => l.threshold ?? model.scoreThreshold);
}

/** One detection in source pixels, by class index; the main thread attaches label, category and view. */
export interface RawDetection {
  cls: number;
  score: number;
  box: Box;
}

/**
 * Raw output tensor → final candidates in model-input pixels: thresholds per class, then class-wise
 * NMS for the anchor heads (end-to-end graphs did their own), capped at maxDetections, best first.
 */
export function decodeOutput(data: Float32Array, dims: readonly number[], spec: DecodeSpec): Candidate[] {
  const t: ClassThresholds = classThresholds(spec.thresholds);
  switch (spec.output) {
    case 'yolov5':
      return nmsClasswise(decodeYolov5(data, dims, t), spec.iouThreshold, spec.maxDetections);
    case 'yolov8':
      return nmsClasswise(decodeYolov8(data, dims, t), spec.iouThreshold, spec.maxDetections);
    case 'e2e':
      return topK(decodeE2e(data, dims, t), spec.maxDetections);
  }
}

/**
 * Model-input candidates → source-image detections, clipped to the image. A box that lies wholly in
 * the letterbox padding collapses to zero width or height when clipped and is dropped: it covers no
 * pixel of the parcel.
 */
export function toSourceDetections(
  candidates: readonly Candidate[],
  transform: LetterboxTransform,
  srcWidth: number,
  srcHeight: number,
): RawDetection[] {
  const out: RawDetection[] = [];
  for (const c of candidates) {
    const box = unletterbox([c.x1, c.y1, c.x2, c.y2], transform, srcWidth, srcHeight);
    if (!(box[2] > box[0] && box[3] > box[1])) continue;
    out.push({ cls: c.cls, score: c.score, box });
  }
  return out;
}
