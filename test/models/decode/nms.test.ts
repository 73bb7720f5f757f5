import { describe, expect, it } from 'vitest';
import { type Candidate, iou, nmsClasswise, topK } from '../../../models/decode/nms.js';

const box = (x1: number, y1: number, x2: number, y2: number, score: number, cls = 0): Candidate => ({
  x1,
  y1,
  x2,
  y2,
  score,
  cls,
});

describe('iou', () => {
  it('is 1 for identical boxes, 0 for disjoint or touching ones', () => {
    expect(iou(box(0, 0, 10, 10, 1), box(0, 0, 10, 10, 1))).toBe(1);
    expect(iou(box(0, 0, 10, 10, 1), box(20, 20, 30, 30, 1))).toBe(0);
    expect(iou(box(0, 0, 10, 10, 1), box(10, 0, 20, 10, 1))).toBe(0);
  });

  it('matches a hand computation', () => {
    // 16x16 boxes offset by 1: intersection 15x15 = 225, union 512 - 225 = 287.
    expect(iou(box(8, 8, 24, 24, 1), box(9, 9, 25, 25, 1))).toBeCloseTo(225 / 287, 10);
  });

  it('is 0 for degenerate boxes instead of NaN', () => {
    expect(iou(box(5, 5, 5, 5, 1), box(5, 5, 5, 5, 1))).toBe(0);
  });
});

describe('nmsClasswise', () => {
  it('suppresses a lower-scored overlapping box of the same class', () => {
    const kept = nmsClasswise([box(9, 9, 25, 25, 0.8), box(8, 8, 24, 24, 0.9)], 0.45, 100);
    expect(kept).toEqual([box(8, 8, 24, 24, 0.9)]);
  });

  it('never lets one class suppress another', () => {
    const kept = nmsClasswise([box(8, 8, 24, 24, 0.9, 0), box(8, 8, 24, 24, 0.7, 1)], 0.45, 100);
    expect(kept.map((k) => k.cls)).toEqual([0, 1]);
  });

  it('keeps overlaps at or below the IoU threshold', () => {
    // IoU of these two is exactly 1/3.
    const a = box(0, 0, 10, 10, 0.9);
    const b = box(5, 0, 15, 10, 0.8);
    expect(nmsClasswise([a, b], 1 / 3, 100)).toHaveLength(2);
    expect(nmsClasswise([a, b], 0.3, 100)).toHaveLength(1);
  });

  it('chains greedily: a suppressed box cannot suppress others', () => {
    // b overlaps a and c; c does not overlap a. Greedy NMS keeps a and c.
    const a = box(0, 0, 10, 10, 0.9);
    const b = box(4, 0, 14, 10, 0.8);
    const c = box(8, 0, 18, 10, 0.7);
    expect(nmsClasswise([c, b, a], 0.3, 100)).toEqual([a, c]);
  });

  it('caps at maxDetections, best first', () => {
    const many = Array.from({ length: 50 }, (_, i) => box(i * 20, 0, i * 20 + 10, 10, i / 100, i % 3));
    const kept = nmsClasswise(many, 0.45, 5);
    expect(kept.map((k) => k.score)).toEqual([0.49, 0.48, 0.47, 0.46, 0.45]);
  });

  it('does not reorder or mutate its input', () => {
    const input = [box(0, 0, 1, 1, 0.1), box(5, 5, 6, 6, 0.9)];
    const copy = structuredClone(input);
    nmsClasswise(input, 0.5, 10);
    expect(input).toEqual(copy);
  });

  it('handles no candidates', () => {
    expect(nmsClasswise([], 0.45, 100)).toEqual([]);
  });
});

describe('topK', () => {
  it('keeps the best k without suppression', () => {
    const kept = topK([box(0, 0, 10, 10, 0.5), box(0, 0, 10, 10, 0.9), box(0, 0, 10, 10, 0.7)], 2);
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.7]);
  });
});
