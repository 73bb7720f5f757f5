/**
 * Per-label score thresholds chosen from a dataset (`parcelguard eval --suggest-thresholds`).
 *
 * One threshold for every label is rarely right: a detector is sure of guns long before it is sure of
 * lighters, so at a shared 0.25 a screener sees more false lighter alarms than gun misses. A site
 * picks the trade-off it wants — no more than one false alarm in five (`precision=0.8`), or nine in
 * ten threats found (`recall=0.9`) — and this finds, per label, the threshold that meets it on the
 * site's own labelled scans.
 *
 * The curve is the AP50 curve: detections of one label over all images, best first, each a true
 * positive when it took a ground-truth box at IoU 0.50. Matching is greedy by score, so the
 * detections at or above any threshold match exactly as they would at that threshold alone, and
 * each point of the curve is what the gateway would report there (before the per-image cap of
 * maxDetections, which a site with many objects per scan should check).
 *
 * Thresholds are on a 0.001 grid and every figure is measured at the rounded threshold, so the
 * suggestion pasted into a config gives the precision and recall printed beside it on this data.
 */

/** One detection on a label's curve. */
export interface RankedDetection {
  score: number;
  /** Took a ground-truth box at IoU 0.50. */
  tp: boolean;
}

export interface OperatingPoint {
  threshold: number;
  /** Detections with score >= threshold. */
  detections: number;
  truePositives: number;
  /** null when nothing clears the threshold. */
  precision: number | null;
  recall: number;
}

export type ThresholdGoal = { kind: 'precision' | 'recall'; value: number };

export class ThresholdGoalError extends Error {}

/** `precision=0.8` or `recall=0.9`. */
export function parseGoal(text: string): ThresholdGoal {
  const m = /^\s*(precision|recall)\s*=\s*([0-9.]+)\s*$/.exec(text);
  const value = m ? Number(m[2]) : Number.NaN;
  if (!m || !(value > 0 && value <= 1))
    throw new ThresholdGoalError(
      `--suggest-thresholds: expected precision=P or recall=R with 0 < P, R <= 1 (e.g. precision=0.8), got "${text}"`,
    );
  return { kind: m[1] as ThresholdGoal['kind'], value };
}

const GRID = 1000;

/** The grid step at or below a score, so that `score >= step / GRID` holds as the gateway compares. */
function gridStep(score: number): number {
  const step = Math.floor(score * GRID);
  // score * GRID can round up to the next integer; the threshold must never pass the score.
  return step / GRID > score ? step - 1 : step;
}

/**
 * The operating point at every threshold on the 0.001 grid where the set of detections changes,
 * highest threshold first. `ranked` may come in any order; `gt` > 0.
 */
export function operatingPoints(ranked: readonly RankedDetection[], gt: number): OperatingPoint[] {
  if (gt <= 0) throw new RangeError('operatingPoints needs at least one ground-truth box');
  const sorted = [...ranked].sort((a, b) => b.score - a.score);
  const points: OperatingPoint[] = [];
  let tps = 0;
  for (let i = 0; i < sorted.length; i++) {
    if ((sorted[i] as RankedDetection).tp) tps++;
    // A grid threshold takes in every detection scoring at least it, so a point closes only where
    // the next detection falls below this one's grid step.
    const step = gridStep((sorted[i] as RankedDetection).score);
    const next = sorted[i + 1];
    if (next !== undefined && gridStep(next.score) === step) continue;
    if (step <= 0) break; // a threshold of 0 reports everything; not a setting anyone wants
    points.push({
      threshold: step / GRID,
      detections: i + 1,
      truePositives: tps,
      precision: tps / (i + 1),
      recall: tps / gt,
    });
  }
  return points;
}

/**
 * The point that meets the goal: for precision, the lowest threshold whose precision reaches it
 * (so the most threats found); for recall, the highest threshold whose recall reaches it (so the
 * fewest false alarms). null when no threshold meets it on this data.
 */
export function pickThreshold(points: readonly OperatingPoint[], goal: ThresholdGoal): OperatingPoint | null {
  // Figures are ratios of small counts: compare with a hair of tolerance so 4/5 meets 0.8.
  const meets = (v: number | null) => v !== null && v >= goal.value - 1e-12;
  if (goal.kind === 'recall') return points.find((p) => meets(p.recall)) ?? null;
  let best: OperatingPoint | null = null;
  for (const p of points) if (meets(p.precision)) best = p;
  return best;
}

/** The point at a given threshold (what the configured one gives), from the same curve. */
export function pointAt(ranked: readonly RankedDetection[], gt: number, threshold: number): OperatingPoint {
  const kept = ranked.filter((d) => d.score >= threshold);
  const tps = kept.filter((d) => d.tp).length;
  return {
    threshold,
    detections: kept.length,
    truePositives: tps,
    precision: kept.length > 0 ? tps / kept.length : null,
    recall: tps / gt,
  };
}

export interface LabelSuggestion {
  label: string;
  gt: number;
  current: OperatingPoint;
  /** null when no threshold meets the goal on this data. */
  suggested: OperatingPoint | null;
}

/** Per label with ground truth: where it stands at its configured threshold and where the goal puts it. */
export function suggestThresholds(
  labels: ReadonlyArray<{ label: string; gt: number; threshold: number; ranked: readonly RankedDetection[] }>,
  goal: ThresholdGoal,
): LabelSuggestion[] {
  return labels
    .filter((l) => l.gt > 0)
    .map((l) => ({
      label: l.label,
      gt: l.gt,
      current: pointAt(l.ranked, l.gt, l.threshold),
      suggested: pickThreshold(operatingPoints(l.ranked, l.gt), goal),
    }));
}
