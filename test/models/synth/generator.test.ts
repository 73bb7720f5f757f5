import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLASSES,
  cleanStyle,
  generateScan,
  prng,
  renderScene,
  type Scene,
  type SceneObject,
  type SynthView,
} from '../../../models/synth/index.js';
import { M } from '../../../models/synth/materials.js';
import { Rng } from '../../../models/synth/random.js';
import { part, rect } from '../../../models/synth/shapes.js';
import { THREATS } from '../../../models/synth/threats.js';

function scene(objects: SceneObject[], width = 600, height = 320): Scene {
  return { objects, geometry: { width, height, pxPerCm: 10, beltRow: height - 10 }, container: 'carton' };
}

function slab(x: number, y: number, mat: readonly [number, number, number], h: number): SceneObject {
  return { parts: [part([rect(0, 0, 5, 5)], mat, h)], x, y, z: 10, yaw: 0, mirror: false, cls: -1 };
}

function pixel(v: SynthView, x: number, y: number): [number, number, number] {
  const k = (y * v.width + x) * 3;
  return [v.rgb[k]!, v.rgb[k + 1]!, v.rgb[k + 2]!];
}

const luminance = ([r, g, b]: [number, number, number]) => 0.299 * r + 0.587 * g + 0.114 * b;

describe('synthetic X-ray generator', () => {
  it('is deterministic: the same seed gives the same bytes, another seed different ones', () => {
    const a = generateScan({ seed: 1234, dualView: true });
    const b = generateScan({ seed: 1234, dualView: true });
    generateScan({ seed: 99 }); // buffers are reused between scans; that must not leak into output
    const c = generateScan({ seed: 1234, dualView: true });
    const d = generateScan({ seed: 1235, dualView: true });
    expect(a.waybill).toBe(b.waybill);
    for (const [i, v] of a.views.entries()) {
      expect(v.rgb.equals(b.views[i]!.rgb)).toBe(true);
      expect(v.rgb.equals(c.views[i]!.rgb)).toBe(true);
      expect(v.boxes).toEqual(b.views[i]!.boxes);
    }
    expect(a.views[0]!.rgb.equals(d.views[0]!.rgb)).toBe(false);
  });

  it('has a seeded PRNG (same seed, same sequence, in [0, 1)) and never calls Math.random', () => {
    const x = prng(42);
    const y = prng(42);
    for (let i = 0; i < 5; i++) {
      const v = x();
      expect(v).toBe(y());
      expect(v >= 0 && v < 1).toBe(true);
    }
    expect(prng(43)()).not.toBe(prng(42)());
    const dir = join(import.meta.dirname, '../../../models/synth');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')))
      expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/Math\.random/);
  });

  it('produces line-scan images: fixed height, width following the parcel, RGB HWC', () => {
    const widths = new Set<number>();
    for (let seed = 0; seed < 12; seed++) {
      const s = generateScan({ seed });
      const v = s.views[0]!;
      expect(v.view).toBe('main');
      expect(v.height).toBe(640);
      expect(v.width).toBeGreaterThanOrEqual(500);
      expect(v.width).toBeLessThanOrEqual(1400);
      expect(v.rgb.length).toBe(v.width * v.height * 3);
      widths.add(v.width);
      // Air is near white: the first column is background on every scan.
      expect(luminance(pixel(v, 0, 5))).toBeGreaterThan(225);
    }
    expect(widths.size).toBeGreaterThan(6);
    expect(generateScan({ seed: 3, height: 320 }).views[0]!.height).toBe(320);
  });

  it('boxes lie inside the image and name their class', () => {
    let seen = 0;
    for (let seed = 0; seed < 20; seed++) {
      const s = generateScan({ seed, dualView: seed % 2 === 0, threatRate: { prohibited: 1, drug: 1 } });
      for (const v of s.views) {
        for (const b of v.boxes) {
          seen++;
          expect(b.label).toBe(CLASSES[b.cls]);
          expect(b.x1).toBeGreaterThanOrEqual(0);
          expect(b.y1).toBeGreaterThanOrEqual(0);
          expect(b.x2).toBeLessThanOrEqual(v.width);
          expect(b.y2).toBeLessThanOrEqual(v.height);
          expect(b.x2).toBeGreaterThan(b.x1);
          expect(b.y2).toBeGreaterThan(b.y1);
        }
      }
    }
    expect(seen).toBeGreaterThan(30);
  });

  it('draws a tight box: every edge of it touches the threat, nothing clearly visible lies outside', () => {
    const rng = new Rng(7);
    const bg = pixel(renderScene(scene([]), 'main', cleanStyle(), 1), 10, 10);
    const diff = (p: [number, number, number]) =>
      Math.abs(p[0] - bg[0]) + Math.abs(p[1] - bg[1]) + Math.abs(p[2] - bg[2]);
    for (const [cls, name] of CLASSES.entries()) {
      for (let k = 0; k < 3; k++) {
        const b = THREATS[name](rng);
        const o: SceneObject = {
          parts: b.parts,
          x: 30,
          y: 16,
          z: 10,
          yaw: rng.range(0, 6.3),
          mirror: k === 1,
          cls,
        };
        const v = renderScene(scene([o]), 'main', cleanStyle(), 1);
        expect(v.boxes, name).toHaveLength(1);
        const box = v.boxes[0]!;
        const edge = (xs: number[], ys: number[]) => {
          let best = 0;
          for (const x of xs) for (const y of ys) best = Math.max(best, diff(pixel(v, x, y)));
          return best;
        };
        const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
        const xs = range(box.x1, box.x2);
        const ys = range(box.y1, box.y2);
        // Each border row/column holds a visible threat pixel (so the box is not loose)…
        expect(edge(xs, [box.y1]), `${name} top`).toBeGreaterThan(20);
        expect(edge(xs, [box.y2 - 1]), `${name} bottom`).toBeGreaterThan(20);
        expect(edge([box.x1], ys), `${name} left`).toBeGreaterThan(20);
        expect(edge([box.x2 - 1], ys), `${name} right`).toBeGreaterThan(20);
        // …and nothing clearly visible is left outside it (so it is not cut short).
        let outside = 0;
        for (let y = 0; y < v.height; y++)
          for (let x = 0; x < v.width; x++) {
            if (x >= box.x1 - 1 && x <= box.x2 && y >= box.y1 - 1 && y <= box.y2) continue;
            outside = Math.max(outside, diff(pixel(v, x, y)));
          }
        expect(outside, `${name} outside`).toBeLessThan(70);
      }
    }
  });

  it('shows a disposable lighter whole under a pile of jeans, not only its steel head', () => {
    // The metal head alone is a small blue square any clip or zip can make; what says "lighter" is
    // the tank's outline, so the tank must stay visible through the clothing it is usually packed in.
    // 25 cm of denim (8 g/cm²) is a full carton of jeans, well within what a 140 kV scanner sees through.
    const rng = new Rng(11);
    const lighters = [];
    while (lighters.length < 4) {
      const b = THREATS.lighter(rng);
      if (b.parts.some((p) => p.mat === M.pom)) lighters.push(b);
    }
    const jeans = slab(30, 16, M.denim, 25);
    for (const [k, b] of lighters.entries()) {
      const o: SceneObject = { parts: b.parts, x: 30, y: 16, z: 1, yaw: 0, mirror: false, cls: 3 };
      const v = renderScene(scene([o, jeans]), 'main', cleanStyle(), 1);
      expect(v.boxes, `lighter ${k}`).toHaveLength(1);
      const box = v.boxes[0]!;
      // pxPerCm is 10: the box must span the lighter's length, tank included.
      expect(box.x2 - box.x1, `lighter ${k} box length`).toBeGreaterThan(0.9 * 2 * b.hx * 10);
    }
  });

  it('multiplies transmissions (Beer–Lambert): an overlap is darker than either object', () => {
    const v = renderScene(
      scene([slab(20, 15, M.water, 3), slab(26, 15, M.water, 3), slab(45, 15, M.steel, 0.2)]),
      'main',
      cleanStyle(),
      1,
    );
    const left = luminance(pixel(v, 170, 150)); // first slab only (x 15–25 cm)
    const right = luminance(pixel(v, 290, 150)); // second slab only (x 21–31 cm)
    const both = luminance(pixel(v, 230, 150));
    const air = luminance(pixel(v, 580, 10));
    expect(left).toBeLessThan(air);
    expect(both).toBeLessThan(left - 10);
    expect(both).toBeLessThan(right - 10);
    // Thicker is darker within one material too.
    const thick = renderScene(scene([slab(30, 15, M.water, 9)]), 'main', cleanStyle(), 1);
    expect(luminance(pixel(thick, 300, 150))).toBeLessThan(left);
    // And a thick block of steel lets nothing through: near black.
    const gun = renderScene(scene([slab(30, 15, M.steel, 3)]), 'main', cleanStyle(), 1);
    expect(luminance(pixel(gun, 300, 150))).toBeLessThan(40);
  });

  it('colours by material: organic orange, light inorganic green, metal blue', () => {
    const v = renderScene(
      scene([slab(10, 15, M.water, 5), slab(30, 15, M.aluminium, 1.2), slab(50, 15, M.steel, 0.35)]),
      'main',
      cleanStyle(),
      1,
    );
    const [or, og, ob] = pixel(v, 100, 150);
    const [ar, ag, ab] = pixel(v, 300, 150);
    const [mr, mg, mb] = pixel(v, 500, 150);
    expect(or).toBeGreaterThan(og);
    expect(og).toBeGreaterThan(ob);
    expect(ag).toBeGreaterThan(ar);
    expect(ag).toBeGreaterThan(ab);
    expect(mb).toBeGreaterThan(mr);
    expect(mb).toBeGreaterThan(mg);
    expect(mb / (mr + mg + mb)).toBeGreaterThan(ob / (or + og + ob) + 0.2);
  });

  it('renders two views of one parcel with their own boxes', () => {
    const s = generateScan({
      seed: 5,
      dualView: true,
      threatRate: { prohibited: 1, drug: 0 },
      classes: ['gun'],
    });
    expect(s.views.map((v) => v.view)).toEqual(['top', 'side']);
    const [top, side] = s.views as [SynthView, SynthView];
    expect(side.width).toBe(top.width);
    expect(side.height).toBe(top.height);
    expect(top.rgb.equals(side.rgb)).toBe(false);
    expect(top.boxes.length).toBeGreaterThan(0);
    expect(side.boxes.length).toBeGreaterThan(0);
    expect(top.boxes.every((b) => b.label === 'gun') && side.boxes.every((b) => b.label === 'gun')).toBe(
      true,
    );
    // Side view: the belt axis is shared, heights are not, so the boxes agree on x only.
    expect(Math.abs(top.boxes[0]!.x1 - side.boxes[0]!.x1)).toBeLessThan(8);
  });

  it('honours threat rates and class subsets', () => {
    let clean = 0;
    for (let seed = 0; seed < 10; seed++) {
      const none = generateScan({ seed, threatRate: { prohibited: 0, drug: 0 } });
      clean += none.views[0]!.boxes.length === 0 ? 1 : 0;
      const knives = generateScan({ seed, threatRate: { prohibited: 1, drug: 1 }, classes: ['knife', 7] });
      for (const b of knives.views[0]!.boxes) expect(['knife', 'drug-pills']).toContain(b.label);
    }
    expect(clean).toBe(10);
    expect(() => generateScan({ seed: 1, classes: ['bazooka'] })).toThrow(/unknown class/);
  });
});
