import type { Candidate } from './nms.js';

/**
 * Candidate extraction for the anchor-based YOLO heads. Each anchor yields at most one candidate: the
 * highest-scoring class among those that clear their OWN threshold. Plain argmax would lose a drug
 * scored 0.40 (threshold 0.30) on an anchor whose best class is a knife at 0.45 (threshold 0.50);
 * all-classes-per-anchor would report one object under several labels.
 *
 * `thresholds[c]` is the score a class-c candidate needs; `minThreshold` is their minimum, used to
 * reject most anchors after one comparison.
 */
export interface ClassThresholds {
  thresholds: readonly number[];
  minThreshold: number;
}

export function classThresholds(thresholds: readonly number[]): ClassThresholds {
  let min = Number.POSITIVE_INFINITY;
  for (const t of thresholds) min = Math.min(min, t);
  return { thresholds, minThreshold: min };
}

function candidate(cx: number, cy: number, w: number, h: number, score: number, cls: number): Candidate {
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, cls };
}

/** Throws with a message naming both shapes; the worker turns it into INFERENCE_FAILED. */
export function expectDims(dims: readonly number[], expected: Array<number | 'N'>, what: string): void {
  const ok =
    dims.length === expected.length && expected.every((e, i) => e === 'N' || (dims[i] as number) === e);
  if (!ok) throw new Error(`${what}: expected output [${expected.join(',')}], got [${dims.join(',')}]`);
}

/** YOLOv5 `[1, N, 5+C]`: cx, cy, w, h, objectness, class scores; score = objectness × class score. */
export function decodeYolov5(data: Float32Array, dims: readonly number[], t: ClassThresholds): Candidate[] {
  const numClasses = t.thresholds.length;
  expectDims(dims, [1, 'N', 5 + numClasses], 'yolov5');
  const n = dims[1] as number;
  const stride = 5 + numClasses;
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    const obj = data[o + 4] as number;
    // Class scores are <= 1, so objectness bounds every product: most anchors stop here.
    if (!(obj >= t.minThreshold)) continue;
    let best = -1;
    let bestScore = 0;
    for (let c = 0; c < numClasses; c++) {
      const s = obj * (data[o + 5 + c] as number);
      if (s >= (t.thresholds[c] as number) && s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    if (best < 0) continue;
    out.push(
      candidate(
        data[o] as number,
        data[o + 1] as number,
        data[o + 2] as number,
        data[o + 3] as number,
        bestScore,
        best,
      ),
    );
  }
  return out;
}

/** YOLOv8/11 `[1, 4+C, N]` (channel-major): cx, cy, w, h rows, then one score row per class; no objectness. */
export function decodeYolov8(data: Float32Array, dims: readonly number[], t: ClassThresholds): Candidate[] {
  const numClasses = t.thresholds.length;
  expectDims(dims, [1, 4 + numClasses, 'N'], 'yolov8');
  const n = dims[2] as number;
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestScore = 0;
    for (let c = 0; c < numClasses; c++) {
      const s = data[(4 + c) * n + i] as number;
      if (!(s >= t.minThreshold)) continue;
      if (s >= (t.thresholds[c] as number) && s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    if (best < 0) continue;
    out.push(
      candidate(
        data[i] as number,
        data[n + i] as number,
        data[2 * n + i] as number,
        data[3 * n + i] as number,
        bestScore,
        best,
      ),
    );
  }
  return out;
}

/** End-to-end `[1, K, 6]`: x1, y1, x2, y2, score, class, NMS already done in the graph. */
export function decodeE2e(data: Float32Array, dims: readonly number[], t: ClassThresholds): Candidate[] {
  expectDims(dims, [1, 'N', 6], 'e2e');
  const k = dims[1] as number;
  const out: Candidate[] = [];
  for (let i = 0; i < k; i++) {
    const o = i * 6;
    const score = data[o + 4] as number;
    if (!(score >= t.minThreshold)) continue;
    const clsValue = data[o + 5] as number;
    const cls = Math.round(clsValue);
    // A class index the config has no label for is skipped rather than guessed at or crashed on.
    if (!Number.isFinite(clsValue) || cls < 0 || cls >= t.thresholds.length) continue;
    if (score < (t.thresholds[cls] as number)) continue;
    const ax = data[o] as number;
    const ay = data[o + 1] as number;
    const bx = data[o + 2] as number;
    const by = data[o + 3] as number;
    out.push({
      x1: Math.min(ax, bx),
      y1: Math.min(ay, by),
      x2: Math.max(ax, bx),
      y2: Math.max(ay, by),
      score,
      cls,
    });
  }
  return out;
}
