import type { Box } from '../../config/shared/types.js';
import { boxIou, type EvalBox, type EvalDetection, matchIndices } from './ap.js';

/**
 * Where a model goes wrong, at the thresholds the gateway runs it at: every false alarm and every
 * miss of one image, each with the likeliest cause. AP says how much a class loses; this says what
 * to do about it. False alarms on background clutter call for harder negatives in the training
 * data, alarms on another class for examples that set the two apart, misses found below the
 * threshold for a lower threshold or more training, misses with nothing there for examples like
 * them.
 *
 * Matching is AP50's: a class's counted detections, best first, each take the unmatched ground-truth
 * box of highest IoU >= 0.5.
 */

/** IoU below which two boxes are taken to be about different things. */
const TOUCH_IOU = 0.1;
const MATCH_IOU = 0.5;

export type FalseAlarmCause =
  /** A second detection of an object already found. */
  | { kind: 'duplicate' }
  /** On an object of its own class, but the box is off (IoU 0.1–0.5). */
  | { kind: 'mislocated' }
  /** On an object of another class. */
  | { kind: 'other-class'; cls: number }
  /** On nothing labelled: clutter, or an object the labels leave out. */
  | { kind: 'background' };

export type MissCause =
  /** Reported, but as another class (IoU >= 0.5). */
  | { kind: 'as-other-class'; cls: number }
  /** Reported as its class with a box too far off (IoU 0.1–0.5). */
  | { kind: 'mislocated' }
  /** Detected in the right place but scored under the class's threshold. */
  | { kind: 'below-threshold'; score: number }
  /** No detection of its class at any score, nor of another above threshold, lies on it. */
  | { kind: 'nothing' };

export type ImageError =
  | { type: 'false-alarm'; cls: number; box: Box; score: number; cause: FalseAlarmCause }
  | { type: 'miss'; cls: number; box: Box; cause: MissCause };

/** Causes as short stable names, for tables and file names: "background", "on-gun", "as-knife"… */
export function causeName(e: ImageError, labels: readonly string[]): string {
  const c = e.cause;
  if (c.kind === 'other-class') return `on-${labels[c.cls] ?? c.cls}`;
  if (c.kind === 'as-other-class') return `as-${labels[c.cls] ?? c.cls}`;
  return c.kind;
}

const best = (boxes: readonly Box[], box: Box): number =>
  boxes.reduce((m, b) => Math.max(m, boxIou(box, b)), 0);

/**
 * The false alarms and misses of one image. `dets` are all the detections (the ones under threshold
 * included, as eval keeps them for AP); only those with `counted !== false` can be false alarms or
 * hits, the rest serve to tell a miss found too weakly from one not found at all. A label outside
 * `scored` (one no dataset class maps to) has neither: its detections cannot be judged.
 */
export function imageErrors(
  gt: readonly EvalBox[],
  dets: readonly EvalDetection[],
  numClasses: number,
  scored?: ReadonlySet<number>,
): ImageError[] {
  const out: ImageError[] = [];
  const counted = dets.filter((d) => d.counted !== false);
  for (let c = 0; c < numClasses; c++) {
    if (scored && !scored.has(c)) continue;
    const mineGt = gt.filter((g) => g.cls === c).map((g) => g.box);
    const mine = counted.filter((d) => d.cls === c).sort((a, b) => b.score - a.score);
    const took = matchIndices(
      mineGt,
      mine.map((d) => d.box),
      MATCH_IOU,
    );
    mine.forEach((d, i) => {
      if ((took[i] ?? -1) < 0)
        out.push({
          type: 'false-alarm',
          cls: c,
          box: d.box,
          score: d.score,
          cause: alarmCause(d, mineGt, gt),
        });
    });
    mineGt.forEach((g, gi) => {
      if (!took.includes(gi))
        out.push({ type: 'miss', cls: c, box: g, cause: missCause(c, g, counted, dets) });
    });
  }
  return out;
}

function alarmCause(d: EvalDetection, ownGt: readonly Box[], gt: readonly EvalBox[]): FalseAlarmCause {
  const own = best(ownGt, d.box);
  if (own >= MATCH_IOU) return { kind: 'duplicate' };
  if (own >= TOUCH_IOU) return { kind: 'mislocated' };
  let other: EvalBox | undefined;
  let otherIou = TOUCH_IOU;
  for (const g of gt) {
    if (g.cls === d.cls) continue;
    const v = boxIou(d.box, g.box);
    if (v >= otherIou) {
      otherIou = v;
      other = g;
    }
  }
  return other ? { kind: 'other-class', cls: other.cls } : { kind: 'background' };
}

function missCause(
  cls: number,
  box: Box,
  counted: readonly EvalDetection[],
  all: readonly EvalDetection[],
): MissCause {
  const strongestOn = (list: readonly EvalDetection[], minIou: number, own: boolean) =>
    list
      .filter((d) => (d.cls === cls) === own && boxIou(d.box, box) >= minIou)
      .sort((a, b) => b.score - a.score)[0];
  const asOther = strongestOn(counted, MATCH_IOU, false);
  if (asOther) return { kind: 'as-other-class', cls: asOther.cls };
  if (strongestOn(counted, TOUCH_IOU, true)) return { kind: 'mislocated' };
  const weak = strongestOn(all, MATCH_IOU, true);
  return weak ? { kind: 'below-threshold', score: weak.score } : { kind: 'nothing' };
}
