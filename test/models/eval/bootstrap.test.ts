import { describe, expect, it } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import { ApAccumulator, type EvalBox, type EvalDetection, evaluate } from '../../../models/eval/ap.js';
import {
  bestFirst,
  bootstrapAp50,
  pairedBootstrapAp50,
  weightedAp50,
} from '../../../models/eval/bootstrap.js';
import { prng } from '../../../models/synth/random.js';

type Image = { gt: EvalBox[]; dets: EvalDetection[] };

const box = (x: number): Box => [x, 0, x + 10, 10];

/**
 * A seeded set of two classes: each image has 0-2 objects per class, each found with some chance at a
 * score that is higher when found, plus a stray false alarm now and then. Scores are distinct.
 */
function makeImages(n: number, seed: number): Image[] {
  const random = prng(seed);
  return Array.from({ length: n }, () => {
    const gt: EvalBox[] = [];
    const dets: EvalDetection[] = [];
    for (let cls = 0; cls < 2; cls++) {
      const objects = Math.floor(random() * 3);
      for (let o = 0; o < objects; o++) {
        const b = box(cls * 100 + o * 20);
        gt.push({ cls, box: b });
        if (random() < 0.8) dets.push({ cls, box: b, score: 0.3 + 0.7 * random() });
      }
      if (random() < 0.4) dets.push({ cls, box: box(cls * 100 + 60), score: 0.8 * random() });
    }
    return { gt, dets };
  });
}

function accumulate(images: readonly Image[]): ApAccumulator {
  const acc = new ApAccumulator(2);
  for (const im of images) acc.addImage(im.gt, im.dets);
  return acc;
}

describe('weightedAp50', () => {
  const images = makeImages(40, 7);
  const acc = accumulate(images);

  it('with every image once is the AP50 evaluate computes', () => {
    const ones = new Array<number>(images.length).fill(1);
    const results = evaluate(images, 2);
    for (const c of [0, 1]) {
      const ap = weightedAp50(bestFirst(acc.ranked50(c)), acc.gtPerImage(c), ones);
      expect(ap).toBeCloseTo(results[c]?.ap50 as number, 12);
    }
  });

  it('with weights is the AP50 of the dataset with those images repeated', () => {
    const random = prng(3);
    const weights = images.map(() => Math.floor(random() * 3)); // 0, 1 or 2 copies of each
    const repeated = images.flatMap((im, i) => new Array<Image>(weights[i] as number).fill(im));
    const results = evaluate(repeated, 2);
    for (const c of [0, 1]) {
      const ap = weightedAp50(bestFirst(acc.ranked50(c)), acc.gtPerImage(c), weights);
      expect(ap).toBeCloseTo(results[c]?.ap50 as number, 12);
    }
  });

  it('has no AP where the weights leave no ground truth', () => {
    expect(weightedAp50(bestFirst(acc.ranked50(0)), acc.gtPerImage(0), new Array(40).fill(0))).toBeNull();
  });
});

describe('bootstrapAp50', () => {
  const classesOf = (acc: ApAccumulator) =>
    [0, 1].map((c) => ({ ranked: acc.ranked50(c), gtPerImage: acc.gtPerImage(c) }));

  it('brackets the figure, the same on every run, and narrows with more images', () => {
    const small = makeImages(60, 11);
    const large = makeImages(1200, 11);
    const point = evaluate(small, 2)[0]?.ap50 as number;
    const a = bootstrapAp50(classesOf(accumulate(small)), small.length, 300);
    const b = bootstrapAp50(classesOf(accumulate(small)), small.length, 300);
    expect(a).toEqual(b);
    const k0 = a.perClass[0];
    expect(k0).not.toBeNull();
    expect(k0?.lo).toBeLessThan(point);
    expect(k0?.hi).toBeGreaterThan(point);
    expect(a.map50?.lo).toBeLessThan(a.map50?.hi as number);

    const wide = (k0?.hi as number) - (k0?.lo as number);
    const l0 = bootstrapAp50(classesOf(accumulate(large)), large.length, 300).perClass[0];
    // The interval shrinks about as 1/sqrt(images): 20 times the images, roughly a quarter the width.
    expect((l0?.hi as number) - (l0?.lo as number)).toBeLessThan(wide / 2.5);
  });

  it('is exact for a perfect detector and null for a class with no ground truth', () => {
    const images: Image[] = Array.from({ length: 30 }, (_, i) => ({
      gt: [{ cls: 0, box: box(0) }],
      dets: [{ cls: 0, box: box(0), score: 0.5 + i / 100 }],
    }));
    const acc = accumulate(images);
    const r = bootstrapAp50(classesOf(acc), images.length, 100);
    expect(r.perClass).toEqual([{ lo: 1, hi: 1 }, null]);
    expect(r.map50).toEqual({ lo: 1, hi: 1 });
  });
});

describe('pairedBootstrapAp50', () => {
  const classesOf = (acc: ApAccumulator) =>
    [0, 1].map((c) => ({ ranked: acc.ranked50(c), gtPerImage: acc.gtPerImage(c) }));
  const images = makeImages(300, 5);
  /** The same detections, but every twentieth image loses its best detection of class 0: a worse model. */
  const worse = images.map((im, i) => {
    if (i % 20 !== 0) return im;
    const best = im.dets.filter((d) => d.cls === 0).sort((a, b) => b.score - a.score)[0];
    return { ...im, dets: im.dets.filter((d) => d !== best) };
  });
  const a = classesOf(accumulate(images));
  const b = classesOf(accumulate(worse));

  it('is exactly zero for a model against itself', () => {
    const r = pairedBootstrapAp50(a, a, images.length, 200);
    expect(r.perClass).toEqual([
      { lo: 0, hi: 0 },
      { lo: 0, hi: 0 },
    ]);
    expect(r.map50).toEqual({ lo: 0, hi: 0 });
  });

  it('finds a real difference that the two unpaired intervals cannot tell from noise', () => {
    const paired = pairedBootstrapAp50(a, b, images.length, 500);
    const delta = paired.perClass[0];
    expect(delta?.lo).toBeGreaterThan(0); // class 0 lost detections: clearly worse
    expect(paired.perClass[1]).toEqual({ lo: 0, hi: 0 }); // class 1 untouched
    const ia = bootstrapAp50(a, images.length, 500).perClass[0];
    const ib = bootstrapAp50(b, images.length, 500).perClass[0];
    // Each model's own interval overlaps the other's: read apart, the gain would look like noise.
    expect(ia?.lo).toBeLessThan(ib?.hi as number);
    expect((delta?.hi as number) - (delta?.lo as number)).toBeLessThan(
      (ia?.hi as number) - (ia?.lo as number),
    );
  });

  it('leaves out a class either model lacks, and refuses unaligned lists', () => {
    const r = pairedBootstrapAp50(a, [b[0] ?? null, null], images.length, 50);
    expect(r.perClass[1]).toBeNull();
    expect(() => pairedBootstrapAp50(a, [b[0] ?? null], images.length, 10)).toThrow(RangeError);
  });
});
