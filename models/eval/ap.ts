import type { Box } from '../../config/shared/types.js';
import type { RankedDetection } from './thresholds.js';

/**
 * COCO-style average precision, computed as pycocotools' COCOeval does for bounding boxes, so that a
 * figure quoted from `parcelguard eval` means what a COCO or Ultralytics figure means:
 *
 * - per class and per image, detections best first, each greedily matched to the unmatched ground
 *   truth box of highest IoU, if that IoU is >= the threshold (a second detection of an already
 *   matched object is a false positive);
 * - per class over all images: detections best first (stable, so ties keep image order), cumulative
 *   precision/recall, the precision envelope (max precision at any recall >= r), sampled at the 101
 *   recall points 0, 0.01, …, 1 (a point beyond the highest recall reached counts as 0), AP = their mean;
 * - AP50 at IoU 0.50, AP50:95 the mean over IoU 0.50, 0.55, …, 0.95.
 *
 * Classes with no ground truth have no AP (null, as pycocotools' -1) and are left out of the mean.
 * Unlike pycocotools no epsilon is added to the precision denominator, so perfect detection is exactly
 * 1, not 1 - 2e-16. There are no crowd or ignored boxes and no area ranges: YOLO labels have none.
 */

/** The thresholds exactly as numpy.linspace(.5, .95, 10) yields them (i * step + start, last = stop). */
export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) =>
  i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5,
);
/** numpy.linspace(0, 1, 101): i * 0.01, so a recall of 0.57 does not reach the 0.5700000000000001 point, as in pycocotools. */
export const RECALL_POINTS: readonly number[] = Array.from({ length: 101 }, (_, i) =>
  i === 100 ? 1 : i * 0.01,
);
/** Index of 0.50 in IOU_THRESHOLDS; also the IoU precision and recall are counted at. */
const IOU50 = 0;

export interface EvalBox {
  /** Index of the evaluated class (the model's label index). */
  cls: number;
  /** [x1, y1, x2, y2] in source pixels. */
  box: Box;
}

export interface EvalDetection extends EvalBox {
  score: number;
  /**
   * Whether the detection clears the configured threshold of its label (and the configured
   * maxDetections): only those count for precision and recall. Every detection counts for AP.
   */
  counted?: boolean;
}

export interface ClassResult {
  gt: number;
  /** Detections counted for precision (at the configured thresholds). */
  detections: number;
  truePositives: number;
  /** null when the class has no ground truth. */
  ap50: number | null;
  ap5095: number | null;
  /** AP at each of IOU_THRESHOLDS; null when the class has no ground truth. */
  apByIou: number[] | null;
  /** truePositives / detections; null when nothing was detected (0/0). */
  precision: number | null;
  /** truePositives / gt; null when the class has no ground truth. */
  recall: number | null;
}

/** Plain IoU without the +1 of old VOC code, as pycocotools computes it; 0 for degenerate boxes. */
export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy matching of one image's detections of one class (already sorted best first) to its ground
 * truth at one IoU threshold; returns the index of the ground-truth box each detection took, or -1.
 * Ties in IoU go to the later ground truth box, as in pycocotools' loop.
 */
export function matchIndices(gt: readonly Box[], dets: readonly Box[], threshold: number): number[] {
  const taken = new Array<boolean>(gt.length).fill(false);
  return dets.map((d) => {
    let best = -1;
    let bestIou = Math.min(threshold, 1 - 1e-10);
    gt.forEach((g, gi) => {
      if (taken[gi]) return;
      const v = boxIou(d, g);
      if (v < bestIou) return;
      bestIou = v;
      best = gi;
    });
    if (best >= 0) taken[best] = true;
    return best;
  });
}

/** matchIndices as a true-positive flag per detection. */
export function matchDetections(gt: readonly Box[], dets: readonly Box[], threshold: number): boolean[] {
  return matchIndices(gt, dets, threshold).map((i) => i >= 0);
}

/**
 * 101-point interpolated AP of one class from its detections' TP flags, in global score order, and its
 * ground-truth count (> 0).
 */
export function averagePrecision(tp: readonly boolean[], numGt: number): number {
  if (numGt <= 0) throw new RangeError('averagePrecision needs at least one ground-truth box');
  const recall: number[] = [];
  const precision: number[] = [];
  let tps = 0;
  tp.forEach((hit, i) => {
    if (hit) tps++;
    recall.push(tps / numGt);
    precision.push(tps / (i + 1));
  });
  return interpolatedAp(recall, precision);
}

/**
 * The 101-point interpolated AP of a precision/recall curve in score order (recall non-decreasing):
 * the precision envelope sampled at RECALL_POINTS. `precision` is overwritten by its envelope.
 */
export function interpolatedAp(recall: readonly number[], precision: number[]): number {
  for (let i = precision.length - 1; i > 0; i--) {
    if ((precision[i] as number) > (precision[i - 1] as number)) precision[i - 1] = precision[i] as number;
  }
  let sum = 0;
  let at = 0;
  for (const r of RECALL_POINTS) {
    // numpy.searchsorted(recall, r, side='left'): the first detection whose recall reaches r.
    while (at < recall.length && (recall[at] as number) < r) at++;
    if (at < recall.length) sum += precision[at] as number;
  }
  return sum / RECALL_POINTS.length;
}

interface Scored {
  score: number;
  /** Bit t set: true positive at IOU_THRESHOLDS[t]. */
  hits: number;
  /** The image's place in the order images were added. */
  image: number;
}

/** A detection on a class's AP50 curve, with the image it came from (for resampling by image). */
export interface ImageRankedDetection extends RankedDetection {
  image: number;
}

/** Collects matches image by image (so images need not stay in memory), then computes per-class figures. */
export class ApAccumulator {
  private readonly scored: Scored[][];
  private readonly gt: number[];
  private readonly counted: number[];
  private readonly countedTp: number[];
  /** Per class, its ground-truth boxes in each image, in the order images were added. */
  private readonly gtByImage: number[][];
  private images = 0;

  constructor(readonly numClasses: number) {
    this.scored = Array.from({ length: numClasses }, () => []);
    this.gtByImage = Array.from({ length: numClasses }, () => []);
    this.gt = new Array<number>(numClasses).fill(0);
    this.counted = new Array<number>(numClasses).fill(0);
    this.countedTp = new Array<number>(numClasses).fill(0);
  }

  /** One image's ground truth and detections; boxes with a class outside [0, numClasses) are ignored. */
  addImage(gt: readonly EvalBox[], dets: readonly EvalDetection[]): void {
    for (let c = 0; c < this.numClasses; c++) {
      const gtBoxes = gt.filter((g) => g.cls === c).map((g) => g.box);
      // Stable sort: equal scores keep the detector's order, as pycocotools' mergesort does.
      const mine = dets.filter((d) => d.cls === c).sort((a, b) => b.score - a.score);
      this.gt[c] = (this.gt[c] as number) + gtBoxes.length;
      (this.gtByImage[c] as number[]).push(gtBoxes.length);
      const boxes = mine.map((d) => d.box);
      const hits = new Array<number>(mine.length).fill(0);
      IOU_THRESHOLDS.forEach((t, ti) => {
        matchDetections(gtBoxes, boxes, t).forEach((hit, di) => {
          if (hit) hits[di] = (hits[di] as number) | (1 << ti);
        });
      });
      const list = this.scored[c] as Scored[];
      mine.forEach((d, di) => {
        list.push({ score: d.score, hits: hits[di] as number, image: this.images });
      });
      // Precision/recall are matched again among the counted detections alone: a sub-threshold
      // detection must not take a ground-truth box away from a counted one.
      const countedBoxes = mine.filter((d) => d.counted !== false).map((d) => d.box);
      const countedHits = matchDetections(gtBoxes, countedBoxes, IOU_THRESHOLDS[IOU50] as number);
      this.counted[c] = (this.counted[c] as number) + countedBoxes.length;
      this.countedTp[c] = (this.countedTp[c] as number) + countedHits.filter(Boolean).length;
    }
    this.images++;
  }

  /** One class's detections with whether each took a box at IoU 0.50: its AP50 curve, in the order added. */
  ranked50(c: number): ImageRankedDetection[] {
    return (this.scored[c] ?? []).map((s) => ({
      score: s.score,
      tp: (s.hits & (1 << IOU50)) !== 0,
      image: s.image,
    }));
  }

  /** One class's ground-truth boxes in each image, in the order images were added. */
  gtPerImage(c: number): readonly number[] {
    return this.gtByImage[c] ?? [];
  }

  results(): ClassResult[] {
    return this.scored.map((list, c) => {
      const gt = this.gt[c] as number;
      const detections = this.counted[c] as number;
      const truePositives = this.countedTp[c] as number;
      const precision = detections > 0 ? truePositives / detections : null;
      if (gt === 0) {
        return {
          gt,
          detections,
          truePositives,
          ap50: null,
          ap5095: null,
          apByIou: null,
          precision,
          recall: null,
        };
      }
      const ordered = [...list].sort((a, b) => b.score - a.score);
      const apByIou = IOU_THRESHOLDS.map((_, ti) =>
        averagePrecision(
          ordered.map((s) => (s.hits & (1 << ti)) !== 0),
          gt,
        ),
      );
      return {
        gt,
        detections,
        truePositives,
        ap50: apByIou[IOU50] as number,
        ap5095: mean(apByIou) as number,
        apByIou,
        precision,
        recall: truePositives / gt,
      };
    });
  }
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** mAP over the classes that have ground truth (pycocotools leaves the others out); null if none has. */
export function meanAp(results: readonly ClassResult[], key: 'ap50' | 'ap5095'): number | null {
  return mean(results.flatMap((r) => (r[key] === null ? [] : [r[key]])));
}

/** Convenience for whole-dataset evaluation in one call (tests, small sets). */
export function evaluate(
  images: ReadonlyArray<{ gt: readonly EvalBox[]; dets: readonly EvalDetection[] }>,
  numClasses: number,
): ClassResult[] {
  const acc = new ApAccumulator(numClasses);
  for (const im of images) acc.addImage(im.gt, im.dets);
  return acc.results();
}
