import { describe, expect, it } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import {
  averagePrecision,
  boxIou,
  type EvalBox,
  type EvalDetection,
  evaluate,
  IOU_THRESHOLDS,
  matchDetections,
  meanAp,
  RECALL_POINTS,
} from '../../../models/eval/ap.js';

/**
 * Hand-worked COCO AP. Every expected value is derived in the comment above it from the rules in
 * models/eval/ap.ts: greedy matching best score first, cumulative precision/recall, precision
 * envelope, mean over the 101 recall points 0, 0.01, …, 1 (a point past the highest recall is 0).
 */

const G1: Box = [0, 0, 10, 10];
const G2: Box = [20, 20, 30, 30];
const gt = (cls: number, box: Box): EvalBox => ({ cls, box });
const det = (cls: number, box: Box, score: number, counted = true): EvalDetection => ({
  cls,
  box,
  score,
  counted,
});
const one = (g: EvalBox[], d: EvalDetection[], classes = 1) => evaluate([{ gt: g, dets: d }], classes);

describe('IoU and thresholds', () => {
  it('computes plain IoU (no +1) and the numpy linspace thresholds', () => {
    expect(boxIou(G1, G1)).toBe(1);
    expect(boxIou(G1, [0, 0, 10, 5])).toBe(0.5); // 50 / 100
    expect(boxIou(G1, [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12); // 50 / (100 + 100 - 50)
    expect(boxIou(G1, G2)).toBe(0);
    expect(IOU_THRESHOLDS).toHaveLength(10);
    expect(IOU_THRESHOLDS[0]).toBe(0.5);
    expect(IOU_THRESHOLDS[9]).toBe(0.95);
    expect(RECALL_POINTS).toHaveLength(101);
    expect(RECALL_POINTS[100]).toBe(1);
  });

  it('matches each ground-truth box once, to the best-scoring detection first', () => {
    // The second detection of the same object finds its box taken: a false positive.
    expect(matchDetections([G1], [G1, G1], 0.5)).toEqual([true, false]);
    // A detection takes the box it overlaps most, leaving the other for the next detection.
    expect(matchDetections([G1, [1, 0, 11, 10]], [[1, 0, 11, 10], G1], 0.5)).toEqual([true, true]);
  });
});

describe('average precision, hand-worked', () => {
  it('perfect detections: AP 1, precision and recall 1', () => {
    const [r] = evaluate(
      [
        { gt: [gt(0, G1), gt(0, G2)], dets: [det(0, G1, 0.9), det(0, G2, 0.8)] },
        { gt: [gt(0, G1)], dets: [det(0, G1, 0.7)] },
      ],
      1,
    );
    expect(r).toMatchObject({
      gt: 3,
      detections: 3,
      truePositives: 3,
      ap50: 1,
      ap5095: 1,
      precision: 1,
      recall: 1,
    });
  });

  it('no detections: AP 0, recall 0, precision undefined (null)', () => {
    expect(one([gt(0, G1)], [])[0]).toMatchObject({ ap50: 0, ap5095: 0, precision: null, recall: 0 });
  });

  it('2 GT, detections TP 0.9, FP 0.8, TP 0.7: AP = 253/303', () => {
    // recall 0.5, 0.5, 1; precision 1, 1/2, 2/3; envelope 1, 2/3, 2/3.
    // Recall points 0.00..0.50 (51 of them) take 1; 0.51..1.00 (50) take 2/3.
    // AP = (51 + 50 * 2/3) / 101 = (253/3) / 101 = 253/303 ≈ 0.83498.
    const [r] = one(
      [gt(0, G1), gt(0, G2)],
      [det(0, G1, 0.9), det(0, [50, 50, 60, 60], 0.8), det(0, G2, 0.7)],
    );
    expect(r?.ap50).toBeCloseTo(253 / 303, 12);
    expect(r?.ap5095).toBeCloseTo(253 / 303, 12); // exact boxes: the same at every IoU
    expect(r?.precision).toBeCloseTo(2 / 3, 12);
    expect(r?.recall).toBe(1);
  });

  it('a duplicate detection is a false positive: same 253/303 when it ranks above a true positive', () => {
    // G1 found at 0.9, found again at 0.8 (duplicate: FP), G2 at 0.7: the TP, FP, TP case above.
    const [r] = one([gt(0, G1), gt(0, G2)], [det(0, G1, 0.9), det(0, [0, 0, 10, 9], 0.8), det(0, G2, 0.7)]);
    expect(r?.ap50).toBeCloseTo(253 / 303, 12);
    expect(r?.precision).toBeCloseTo(2 / 3, 12);
    // Ranked after the only true positive it costs no AP (envelope 1 up to recall 1), only precision.
    const [s] = one([gt(0, G1)], [det(0, G1, 0.9), det(0, G1, 0.8)]);
    expect(s).toMatchObject({ ap50: 1, precision: 0.5, recall: 1 });
  });

  it('a false positive ranked first: AP 0.5', () => {
    // recall 0, 1; precision 0, 1/2; envelope 1/2, 1/2: every recall point takes 1/2.
    expect(one([gt(0, G1)], [det(0, G2, 0.9), det(0, G1, 0.8)])[0]?.ap50).toBe(0.5);
  });

  it('half the objects found, no false positive: AP = 51/101', () => {
    // recall 0.5 with precision 1: the 51 points 0.00..0.50 take 1, the other 50 take 0.
    expect(one([gt(0, G1), gt(0, G2)], [det(0, G1, 0.9)])[0]?.ap50).toBeCloseTo(51 / 101, 12);
  });

  it('IoU exactly 0.50 matches at 0.50 only; 0.49 matches nowhere', () => {
    // [0,0,10,5] on [0,0,10,10]: IoU 50/100 = 0.5, a TP at 0.50 (COCO: IoU >= threshold), FP above.
    // AP50 = 1; AP50:95 = (1 + 9 * 0) / 10 = 0.1.
    expect(one([gt(0, G1)], [det(0, [0, 0, 10, 5], 0.9)])[0]).toMatchObject({ ap50: 1, recall: 1 });
    expect(one([gt(0, G1)], [det(0, [0, 0, 10, 5], 0.9)])[0]?.ap5095).toBeCloseTo(0.1, 12);
    // [0,0,10,4.9]: IoU 0.49, a FP at every threshold.
    expect(one([gt(0, G1)], [det(0, [0, 0, 10, 4.9], 0.9)])[0]).toMatchObject({
      ap50: 0,
      ap5095: 0,
      precision: 0,
      recall: 0,
    });
  });

  it('IoU 0.72 is a TP at 0.50..0.70 (5 of 10 thresholds): AP50:95 = 0.5', () => {
    const [r] = one([gt(0, G1)], [det(0, [0, 0, 10, 7.2], 0.9)]);
    expect(r?.ap50).toBe(1);
    expect(r?.apByIou).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(r?.ap5095).toBeCloseTo(0.5, 12);
  });

  it('greedy by score: a loose best-scoring detection takes the object before a tight one', () => {
    // det 0.9 has IoU 0.62 (TP at 0.50, 0.55, 0.60: AP 1 there); det 0.8 is exact but comes second.
    // At 0.65..0.95 (7 thresholds) the 0.9 misses: FP then TP, AP 0.5 (as in "FP ranked first").
    // AP50:95 = (3 * 1 + 7 * 0.5) / 10 = 0.65.
    const [r] = one([gt(0, G1)], [det(0, [0, 0, 10, 6.2], 0.9), det(0, G1, 0.8)]);
    expect(r?.apByIou).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(r?.ap5095).toBeCloseTo(0.65, 12);
  });

  it('matches within each image only', () => {
    // The detection in image 2 sits where image 1 has its object: a FP, and image 1's object is missed.
    const [r] = evaluate(
      [
        { gt: [gt(0, G1)], dets: [] },
        { gt: [], dets: [det(0, G1, 0.9)] },
      ],
      1,
    );
    expect(r).toMatchObject({ gt: 1, ap50: 0, precision: 0, recall: 0 });
  });

  it('two classes: mAP is their mean, (1 + 253/303) / 2 = 278/303', () => {
    const results = one(
      [gt(0, G1), gt(1, G1), gt(1, G2)],
      [det(0, G1, 0.5), det(1, G1, 0.9), det(1, [50, 50, 60, 60], 0.8), det(1, G2, 0.7)],
      2,
    );
    expect(results[0]?.ap50).toBe(1);
    expect(results[1]?.ap50).toBeCloseTo(253 / 303, 12);
    expect(meanAp(results, 'ap50')).toBeCloseTo(278 / 303, 12);
    // A detection of class 0 on class 1's object is no match: classes never match each other.
    expect(one([gt(1, G1)], [det(0, G1, 0.9)], 2)[1]?.ap50).toBe(0);
  });

  it('a class with no ground truth has no AP and stays out of the mean; its detections are false positives', () => {
    const results = one([gt(0, G1)], [det(0, G1, 0.9), det(1, G2, 0.95)], 2);
    expect(results[1]).toMatchObject({ gt: 0, ap50: null, ap5095: null, recall: null, precision: 0 });
    expect(meanAp(results, 'ap50')).toBe(1);
    expect(meanAp(one([], [], 2), 'ap50')).toBeNull();
  });

  it('precision and recall count only detections at the configured threshold; AP counts all', () => {
    // Both found, but the 0.3 detection is under its label's threshold: P = 1/1, R = 1/2, AP50 = 1.
    const [r] = one([gt(0, G1), gt(0, G2)], [det(0, G1, 0.9), det(0, G2, 0.3, false)]);
    expect(r).toMatchObject({ ap50: 1, detections: 1, truePositives: 1, precision: 1, recall: 0.5 });
  });

  it('averagePrecision follows the recall points as numpy does: recall 0.57 misses the 0.57 point', () => {
    // RECALL_POINTS[57] is 57 * 0.01 = 0.5700000000000001 > 57/100, so only points 0..56 take 1.
    const tp = Array.from({ length: 57 }, () => true);
    expect(averagePrecision(tp, 100)).toBeCloseTo(57 / 101, 12);
    // 0.58: points 0..58 (59 of them) take 1.
    expect(averagePrecision([...tp, true], 100)).toBeCloseTo(59 / 101, 12);
    expect(() => averagePrecision([], 0)).toThrow(RangeError);
  });
});
