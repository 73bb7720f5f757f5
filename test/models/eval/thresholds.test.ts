import { describe, expect, it } from 'vitest';
import {
  operatingPoints,
  parseGoal,
  pickThreshold,
  pointAt,
  type RankedDetection,
  suggestThresholds,
  ThresholdGoalError,
} from '../../../models/eval/thresholds.js';

/**
 * A hand-worked curve: 4 ground-truth boxes; detections (score, hit) unordered, two tied at 0.70 and
 * two within one grid step at 0.9003/0.9008. Precision along it: 1, 2/3, 3/5, 1/2, 4/7, 1/2, so it
 * dips at 0.50 and rises again at 0.30, where the last box is found.
 */
const RANKED: RankedDetection[] = [
  { score: 0.5, tp: false },
  { score: 0.95, tp: true },
  { score: 0.7, tp: false },
  { score: 0.9008, tp: true },
  { score: 0.3, tp: true },
  { score: 0.7, tp: true },
  { score: 0.9003, tp: false },
  { score: 0.2, tp: false },
  { score: 0.0004, tp: false }, // below the grid's first step: no threshold takes it in
];
const GT = 4;

describe('operatingPoints', () => {
  it('has one point per grid step where the detections change, highest first, measured at that step', () => {
    const points = operatingPoints(RANKED, GT).map((p) => [p.threshold, p.detections, p.truePositives]);
    expect(points).toEqual([
      [0.95, 1, 1],
      [0.9, 3, 2], // 0.9008 and 0.9003 share the step 0.900
      [0.7, 5, 3], // the tie at 0.70 enters together
      [0.5, 6, 3],
      [0.3, 7, 4],
      [0.2, 8, 4],
    ]);
    const at07 = operatingPoints(RANKED, GT)[2];
    expect(at07?.precision).toBeCloseTo(3 / 5, 12);
    expect(at07?.recall).toBe(0.75);
  });

  it('never puts a threshold above the score it is meant to take in', () => {
    // Scores on and just under every grid step: each point's threshold must admit its weakest detection.
    const ranked: RankedDetection[] = [];
    for (let k = 1; k < 1000; k++) {
      const s = k / 1000;
      ranked.push({ score: s, tp: true }, { score: s - Number.EPSILON * s, tp: false });
    }
    const sorted = [...ranked].sort((a, b) => b.score - a.score);
    for (const p of operatingPoints(ranked, ranked.length)) {
      const weakest = sorted[p.detections - 1] as RankedDetection;
      expect(weakest.score).toBeGreaterThanOrEqual(p.threshold);
      expect(sorted[p.detections]?.score ?? 0).toBeLessThan(p.threshold);
    }
  });

  it('refuses a label with no ground truth', () => {
    expect(() => operatingPoints(RANKED, 0)).toThrow(RangeError);
  });
});

describe('pickThreshold', () => {
  const points = operatingPoints(RANKED, GT);
  const pick = (goal: string) => pickThreshold(points, parseGoal(goal))?.threshold ?? null;

  it('for precision, takes the lowest threshold that reaches it, past a dip in the curve', () => {
    expect(pick('precision=1')).toBe(0.95);
    expect(pick('precision=0.66')).toBe(0.9); // 2/3; 0.70 gives 3/5, 0.30 gives 4/7
    expect(pick('precision=0.57')).toBe(0.3); // 4/7 = 0.571 at 0.30; 0.50 (1/2) dips under on the way
    expect(pick('precision=0.6')).toBe(0.7); // exactly 3/5 counts as reaching 0.6
  });

  it('for recall, takes the highest threshold that keeps it', () => {
    expect(pick('recall=0.25')).toBe(0.95);
    expect(pick('recall=0.75')).toBe(0.7);
    expect(pick('recall=1')).toBe(0.3);
  });

  it('answers null when no threshold meets the goal', () => {
    expect(
      pickThreshold(operatingPoints([{ score: 0.9, tp: false }], 1), parseGoal('precision=0.5')),
    ).toBeNull();
    expect(pickThreshold([], parseGoal('recall=0.1'))).toBeNull();
  });
});

describe('pointAt and suggestThresholds', () => {
  it('measures a configured threshold on the same curve', () => {
    expect(pointAt(RANKED, GT, 0.5)).toEqual({
      threshold: 0.5,
      detections: 6,
      truePositives: 3,
      precision: 0.5,
      recall: 0.75,
    });
    expect(pointAt(RANKED, GT, 0.99).precision).toBeNull();
  });

  it('suggests per label with ground truth and leaves the rest out', () => {
    const out = suggestThresholds(
      [
        { label: 'knife', gt: GT, threshold: 0.25, ranked: RANKED },
        { label: 'gun', gt: 0, threshold: 0.25, ranked: [] },
      ],
      parseGoal('recall=0.75'),
    );
    expect(out.map((s) => [s.label, s.current.detections, s.current.recall, s.suggested?.threshold])).toEqual(
      [['knife', 7, 1, 0.7]],
    );
  });
});

describe('parseGoal', () => {
  it('reads precision=P and recall=R', () => {
    expect(parseGoal('precision=0.8')).toEqual({ kind: 'precision', value: 0.8 });
    expect(parseGoal(' recall = 1 ')).toEqual({ kind: 'recall', value: 1 });
  });

  it.each(['precision', 'precision=0', 'recall=1.5', 'f1=0.8', 'precision=abc', ''])(
    'rejects "%s"',
    (text) => {
      expect(() => parseGoal(text)).toThrow(ThresholdGoalError);
    },
  );
});
