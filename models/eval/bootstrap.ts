import { prng } from '../synth/random.js';
import { type ImageRankedDetection, interpolatedAp } from './ap.js';

/**
 * How far an AP50 figure could move on another set of scans like these (`parcelguard eval
 * --bootstrap N`): the images are resampled with replacement N times, AP50 is computed on each
 * resample, and the 5th and 95th percentiles make a 90 % interval.
 *
 * A class with 60 boxes in 600 scans is a small sample: two such sets from the same generator gave
 * the same model knife AP50s 0.12 apart. Without an interval, a site comparing a candidate model
 * with the one it replaces, or a trainer comparing two runs, reads noise as progress.
 *
 * Resampling weights each image by how often it was drawn, so a resample's AP is exactly the AP of
 * the dataset with those images repeated: a detection drawn k times adds k to the detections and, if
 * it took a box, k to the true positives, and its image's boxes count k times. Copies of one
 * detection are tied and adjacent, and collapsing such a run to its last point leaves the precision
 * envelope and the 101-point sampling unchanged (up to the order of equal scores within one image,
 * which COCO leaves to the sort as well).
 */

export interface BootstrapClass {
  /** Its AP50 curve (ApAccumulator.ranked50). */
  ranked: readonly ImageRankedDetection[];
  /** Its ground-truth boxes per image (ApAccumulator.gtPerImage). */
  gtPerImage: readonly number[];
}

export interface Interval {
  lo: number;
  hi: number;
}

/** An interval as the JSON outputs write it: [lo, hi], or null. */
export function asPair(i: Interval | null | undefined): [number, number] | null {
  return i ? [i.lo, i.hi] : null;
}

export interface BootstrapResult {
  resamples: number;
  /** Per class, null where the class has no ground truth (or is left out). */
  perClass: Array<Interval | null>;
  /** Of the mean over the classes with ground truth in each resample. */
  map50: Interval | null;
}

/** AP50 (101-point, as averagePrecision) of a curve best first, each image counted `weights[image]` times. */
export function weightedAp50(
  sorted: readonly ImageRankedDetection[],
  gtPerImage: readonly number[],
  weights: ArrayLike<number>,
): number | null {
  let gt = 0;
  gtPerImage.forEach((n, i) => {
    gt += n * (weights[i] ?? 0);
  });
  if (gt === 0) return null;
  const recall: number[] = [];
  const precision: number[] = [];
  let tps = 0;
  let dets = 0;
  for (const d of sorted) {
    const w = weights[d.image] ?? 0;
    if (w === 0) continue;
    dets += w;
    if (d.tp) tps += w;
    recall.push(tps / gt);
    precision.push(tps / dets);
  }
  return interpolatedAp(recall, precision);
}

/** Best first; ties keep the order added (image order), as ApAccumulator ranks them. */
export function bestFirst(ranked: readonly ImageRankedDetection[]): ImageRankedDetection[] {
  return [...ranked].sort((a, b) => b.score - a.score);
}

function percentile(sortedValues: readonly number[], q: number): number {
  const at = Math.min(sortedValues.length - 1, Math.max(0, Math.round(q * (sortedValues.length - 1))));
  return sortedValues[at] as number;
}

function interval(values: number[]): Interval | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return { lo: percentile(values, 0.05), hi: percentile(values, 0.95) };
}

type Curve = BootstrapClass | null;

function sortedCurves(classes: ReadonlyArray<BootstrapClass | null>): Curve[] {
  return classes.map((c) =>
    c === null || c.gtPerImage.every((n) => n === 0) ? null : { ...c, ranked: bestFirst(c.ranked) },
  );
}

/** Each image's count in one resample of `images` images drawn with replacement. */
function resample(random: () => number, weights: Uint32Array): void {
  weights.fill(0);
  for (let i = 0; i < weights.length; i++) {
    const at = Math.floor(random() * weights.length);
    weights[at] = (weights[at] as number) + 1;
  }
}

const apsOf = (curves: readonly Curve[], weights: Uint32Array): Array<number | null> =>
  curves.map((c) => (c === null ? null : weightedAp50(c.ranked, c.gtPerImage, weights)));

/** Mean of the present values; null when none is. */
export function meanOf(values: ReadonlyArray<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length;
}

/**
 * 90 % intervals of each class's AP50 and of mAP50 over `resamples` resamples of `images` images.
 * Seeded, so the same data gives the same interval on every run. A resample that draws none of a
 * rare class's images has no AP for it there, as a dataset without it would not.
 */
export function bootstrapAp50(
  classes: ReadonlyArray<BootstrapClass | null>,
  images: number,
  resamples: number,
  seed = 1,
): BootstrapResult {
  const random = prng(seed);
  const curves = sortedCurves(classes);
  const perClass: number[][] = classes.map(() => []);
  const means: number[] = [];
  const weights = new Uint32Array(images);
  for (let r = 0; r < resamples && images > 0; r++) {
    resample(random, weights);
    const aps = apsOf(curves, weights);
    aps.forEach((ap, ci) => {
      if (ap !== null) (perClass[ci] as number[]).push(ap);
    });
    const m = meanOf(aps);
    if (m !== null) means.push(m);
  }
  return {
    resamples,
    perClass: perClass.map((v, ci) => (curves[ci] === null ? null : interval(v))),
    map50: interval(means),
  };
}

/**
 * Two models on the same images: 90 % intervals of the difference a - b in each class's AP50 and in
 * mAP50, both models scored on the same resamples. Pairing cancels what the two share (which scans
 * happen to be hard), so a difference can be clear while each model's own interval is wide. Classes
 * are aligned by index; a class either model lacks (null) is left out of both means.
 */
export function pairedBootstrapAp50(
  a: ReadonlyArray<BootstrapClass | null>,
  b: ReadonlyArray<BootstrapClass | null>,
  images: number,
  resamples: number,
  seed = 1,
): BootstrapResult {
  if (a.length !== b.length)
    throw new RangeError('pairedBootstrapAp50: the two models must list the same classes');
  const random = prng(seed);
  const inBoth = a.map((c, i) => c !== null && b[i] !== null);
  const curvesA = sortedCurves(a.map((c, i) => (inBoth[i] ? c : null)));
  const curvesB = sortedCurves(b.map((c, i) => (inBoth[i] ? c : null)));
  const perClass: number[][] = a.map(() => []);
  const deltas: number[] = [];
  const weights = new Uint32Array(images);
  for (let r = 0; r < resamples && images > 0; r++) {
    resample(random, weights);
    const apsA = apsOf(curvesA, weights);
    const apsB = apsOf(curvesB, weights);
    // Only classes with an AP under both models enter either mean, so the means cover the same classes.
    const shared = apsA.map((x, i) => (x !== null && apsB[i] !== null ? i : -1)).filter((i) => i >= 0);
    for (const i of shared) (perClass[i] as number[]).push((apsA[i] as number) - (apsB[i] as number));
    const ma = meanOf(shared.map((i) => apsA[i] as number));
    const mb = meanOf(shared.map((i) => apsB[i] as number));
    if (ma !== null && mb !== null) deltas.push(ma - mb);
  }
  return {
    resamples,
    perClass: perClass.map((v, ci) => (curvesA[ci] === null || curvesB[ci] === null ? null : interval(v))),
    map50: interval(deltas),
  };
}
