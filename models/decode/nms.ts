/**
 * Candidate boxes and class-wise non-maximum suppression, shared by the anchor-based decoders.
 * Coordinates are model-input pixels until the worker maps them back to the source image.
 */

export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** Class index into the model's label list. */
  cls: number;
}

/** Intersection over union of two xyxy boxes; 0 for degenerate boxes so they never suppress anything. */
export function iou(a: Candidate, b: Candidate): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  if (iw <= 0) return 0;
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Highest score first; ties broken by class then position so results do not depend on sort stability. */
export function byScore(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.cls - b.cls || a.x1 - b.x1 || a.y1 - b.y1;
}

/**
 * Greedy class-wise NMS: boxes of different classes never suppress each other (a knife lying on a
 * bag of powder must yield both). Stops as soon as `maxDetections` are kept, so the cost is bounded
 * by candidates × maxDetections even when a noisy image produces thousands of candidates.
 */
export function nmsClasswise(
  candidates: Candidate[],
  iouThreshold: number,
  maxDetections: number,
): Candidate[] {
  const sorted = candidates.slice().sort(byScore);
  const keptByClass = new Map<number, Candidate[]>();
  const kept: Candidate[] = [];
  for (const c of sorted) {
    if (kept.length >= maxDetections) break;
    let same = keptByClass.get(c.cls);
    if (same === undefined) {
      same = [];
      keptByClass.set(c.cls, same);
    }
    let suppressed = false;
    for (const k of same) {
      if (iou(c, k) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    same.push(c);
    kept.push(c);
  }
  return kept;
}

/** Keeps the `max` best candidates, for layouts whose NMS already ran in the graph. */
export function topK(candidates: Candidate[], max: number): Candidate[] {
  return candidates.slice().sort(byScore).slice(0, max);
}
