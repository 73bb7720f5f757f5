import { describe, expect, it } from 'vitest';
import { decodeOutput, labelThresholds, toSourceDetections } from '../../../models/decode/decode.js';
import { classThresholds, decodeE2e, decodeYolov5, decodeYolov8 } from '../../../models/decode/yolo.js';

/** An anchor as a test writes it: box in xyxy for readability, scores per class. */
interface Anchor {
  box: [number, number, number, number];
  scores: number[];
  obj?: number;
}

const C = 3;

function yolov5(anchors: Anchor[]): { data: Float32Array; dims: number[] } {
  const w = 5 + C;
  const data = new Float32Array(anchors.length * w);
  anchors.forEach((a, i) => {
    const [x1, y1, x2, y2] = a.box;
    data.set([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, a.obj ?? 1, ...a.scores], i * w);
  });
  return { data, dims: [1, anchors.length, w] };
}

function yolov8(anchors: Anchor[]): { data: Float32Array; dims: number[] } {
  const n = anchors.length;
  const data = new Float32Array((4 + C) * n);
  anchors.forEach((a, i) => {
    const [x1, y1, x2, y2] = a.box;
    const col = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, ...a.scores];
    col.forEach((v, r) => {
      data[r * n + i] = v;
    });
  });
  return { data, dims: [1, 4 + C, n] };
}

// knife 0.5, gun (model default 0.25), powder 0.3
const thresholds = labelThresholds({
  scoreThreshold: 0.25,
  labels: [{ threshold: 0.5 }, {}, { threshold: 0.3 }],
});
const t = classThresholds(thresholds);

describe('labelThresholds', () => {
  it('uses each label threshold, else the model score threshold', () => {
    expect(thresholds).toEqual([0.5, 0.25, 0.3]);
    expect(t.minThreshold).toBe(0.25);
  });
});

describe('decodeYolov8', () => {
  it('converts cx,cy,w,h to corners and keeps the class score', () => {
    const { data, dims } = yolov8([{ box: [10, 20, 50, 80], scores: [0, 0.9, 0] }]);
    expect(decodeYolov8(data, dims, t)).toEqual([
      { x1: 10, y1: 20, x2: 50, y2: 80, score: expect.closeTo(0.9, 6), cls: 1 },
    ]);
  });

  it('applies each label its own threshold', () => {
    const { data, dims } = yolov8([
      { box: [0, 0, 10, 10], scores: [0.45, 0, 0] }, // knife under 0.5: dropped
      { box: [0, 0, 10, 10], scores: [0, 0.26, 0] }, // gun over 0.25: kept
      { box: [0, 0, 10, 10], scores: [0, 0, 0.29] }, // powder under 0.3: dropped
      { box: [0, 0, 10, 10], scores: [0, 0, 0.3] }, // powder at 0.3: kept (threshold is inclusive)
    ]);
    expect(decodeYolov8(data, dims, t).map((c) => c.cls)).toEqual([1, 2]);
  });

  it('reports the best class that clears its own threshold, not the plain argmax', () => {
    const { data, dims } = yolov8([{ box: [0, 0, 10, 10], scores: [0.45, 0.1, 0.4] }]);
    expect(decodeYolov8(data, dims, t)).toEqual([
      expect.objectContaining({ cls: 2, score: expect.closeTo(0.4, 6) }),
    ]);
  });

  it('rejects an output whose class count does not match the labels', () => {
    const { data } = yolov8([{ box: [0, 0, 1, 1], scores: [1, 0, 0] }]);
    expect(() => decodeYolov8(data, [1, 8, 1], t)).toThrow(
      /yolov8: expected output \[1,7,N\], got \[1,8,1\]/,
    );
  });
});

describe('decodeYolov5', () => {
  it('scores objectness × class score', () => {
    const { data, dims } = yolov5([{ box: [10, 20, 50, 80], scores: [0.8, 0.1, 0], obj: 0.9 }]);
    expect(decodeYolov5(data, dims, t)).toEqual([
      { x1: 10, y1: 20, x2: 50, y2: 80, score: expect.closeTo(0.72, 6), cls: 0 },
    ]);
  });

  it('drops an anchor with high objectness but weak classes, and one with low objectness', () => {
    const { data, dims } = yolov5([
      { box: [0, 0, 10, 10], scores: [0.1, 0.1, 0.1], obj: 0.95 },
      { box: [0, 0, 10, 10], scores: [1, 1, 1], obj: 0.2 },
    ]);
    expect(decodeYolov5(data, dims, t)).toEqual([]);
  });

  it('applies per-label thresholds to the product', () => {
    // 0.6 × 0.8 = 0.48: under knife's 0.5, but gun at 0.6 × 0.5 = 0.30 clears 0.25.
    const { data, dims } = yolov5([{ box: [0, 0, 10, 10], scores: [0.8, 0.5, 0], obj: 0.6 }]);
    expect(decodeYolov5(data, dims, t)).toEqual([
      expect.objectContaining({ cls: 1, score: expect.closeTo(0.3, 6) }),
    ]);
  });

  it('rejects a transposed (yolov8-style) output', () => {
    const { data } = yolov5([{ box: [0, 0, 1, 1], scores: [1, 0, 0] }]);
    expect(() => decodeYolov5(data, [1, 8, 1], t)).toThrow(/yolov5: expected output \[1,N,8\]/);
  });
});

describe('decodeE2e', () => {
  const rows = (r: number[][]) => ({ data: Float32Array.from(r.flat()), dims: [1, r.length, 6] });

  it('reads x1,y1,x2,y2,score,class and applies thresholds without NMS', () => {
    const { data, dims } = rows([
      [10, 10, 20, 20, 0.9, 0],
      [11, 11, 21, 21, 0.8, 0], // overlaps the first: kept, the graph already did NMS
      [0, 0, 5, 5, 0.45, 0], // knife under 0.5
      [0, 0, 0, 0, 0, 0], // padding
    ]);
    expect(decodeE2e(data, dims, t).map((c) => c.score)).toEqual([
      expect.closeTo(0.9, 6),
      expect.closeTo(0.8, 6),
    ]);
  });

  it('skips class indices with no label and NaN rows instead of failing', () => {
    const { data, dims } = rows([
      [0, 0, 5, 5, 0.99, 7],
      [0, 0, 5, 5, 0.99, -1],
      [0, 0, 5, 5, Number.NaN, 1],
      [0, 0, 5, 5, 0.99, Number.NaN],
    ]);
    expect(decodeE2e(data, dims, t)).toEqual([]);
  });

  it('normalises swapped corners', () => {
    const { data, dims } = rows([[20, 30, 10, 5, 0.9, 1]]);
    expect(decodeE2e(data, dims, t)).toEqual([
      { x1: 10, y1: 5, x2: 20, y2: 30, score: expect.closeTo(0.9, 6), cls: 1 },
    ]);
  });
});

describe('decodeOutput', () => {
  const spec = { thresholds, iouThreshold: 0.45, maxDetections: 2 };

  it('runs class-wise NMS for anchor heads and caps at maxDetections', () => {
    const { data, dims } = yolov8([
      { box: [8, 8, 24, 24], scores: [0.9, 0, 0] },
      { box: [9, 9, 25, 25], scores: [0.8, 0, 0] }, // suppressed by the first
      { box: [9, 9, 25, 25], scores: [0, 0.7, 0] }, // other class: kept
      { box: [40, 40, 50, 50], scores: [0, 0.6, 0] }, // would be kept, but over maxDetections
    ]);
    const out = decodeOutput(data, dims, { ...spec, output: 'yolov8' });
    expect(out.map((c) => [c.cls, Math.round(c.score * 10) / 10])).toEqual([
      [0, 0.9],
      [1, 0.7],
    ]);
  });

  it('caps e2e output at maxDetections, best first', () => {
    const data = Float32Array.from([0, 0, 1, 1, 0.5, 1, 0, 0, 1, 1, 0.9, 1, 0, 0, 1, 1, 0.7, 1]);
    const out = decodeOutput(data, [1, 3, 6], { ...spec, output: 'e2e' });
    expect(out.map((c) => Math.round(c.score * 10) / 10)).toEqual([0.9, 0.7]);
  });
});

describe('toSourceDetections', () => {
  it('maps to source pixels, clips to the image and drops boxes wholly in the padding', () => {
    const transform = { scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 8 }; // 128x96 source in a 64x64 input
    const out = toSourceDetections(
      [
        { x1: 8, y1: 8, x2: 24, y2: 24, score: 0.9, cls: 0 },
        { x1: -4, y1: 50, x2: 10, y2: 70, score: 0.6, cls: 1 },
        { x1: 10, y1: 0, x2: 20, y2: 6, score: 0.8, cls: 2 }, // inside the top padding only
      ],
      transform,
      128,
      96,
    );
    expect(out).toEqual([
      { cls: 0, score: 0.9, box: [16, 0, 48, 32] },
      { cls: 1, score: 0.6, box: [0, 84, 20, 96] },
    ]);
  });
});
