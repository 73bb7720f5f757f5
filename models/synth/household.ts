/**
 * Household clutter: books and magazines, bottles and cans, cosmetics, packing material and food.
 */
import { M, scaled } from './materials.js';
import { type Built, built, cup, cylinder, disc, looseCable, pouch, screw, shell, tube } from './parts.js';
import type { Rng } from './random.js';
import {
  annulus,
  blob,
  dome,
  ellipse,
  flat,
  type Part,
  part,
  place,
  poly,
  rect,
  rod,
  roundRect,
  stroke,
  TEX_FOLDS,
  TEX_GRAIN,
  TEX_LAYERS,
} from './shapes.js';

/** A book, a stack of books or magazines; glossy paper carries clay and reads greener. */
export function books(rng: Rng): Built {
  const parts: Part[] = [];
  const n = rng.weighted([1, 2, 3, 4], [5, 3, 2, 1]);
  let hz = 0;
  const hl = rng.range(7.5, 14);
  const hw = rng.range(5.5, 10.5);
  for (let i = 0; i < n; i++) {
    const glossy = rng.chance(0.3);
    const h = glossy ? rng.range(0.3, 1.2) : rng.range(1.2, 4);
    const l = hl * rng.range(0.85, 1.1);
    const w = hw * rng.range(0.85, 1.1);
    const dx = rng.range(-1.5, 1.5);
    const dy = rng.range(-1.5, 1.5);
    const ang = rng.range(-0.15, 0.15);
    parts.push(
      part([rect(dx, dy, l, w, ang)], glossy ? M.glossyPaper : M.paper, h, {
        z: hz + h / 2,
        tex: TEX_LAYERS,
        texAmp: 0.06,
        texScale: rng.range(4, 12),
        prof: flat(dx, dy, ang + Math.PI / 2),
      }),
    );
    // Hard cover: board is a little denser than pages, a faint frame around the book.
    if (!glossy && rng.chance(0.6))
      parts.push(part([rect(dx, dy, l + 0.3, w + 0.2, ang)], M.cardboard, 0.4, { z: hz + h / 2 }));
    if (rng.chance(0.15))
      parts.push(part(stroke([dx - l, dy - w + 1, dx - l, dy + w - 1], 0.1), M.steel, 0.15, { z: hz }));
    hz += h;
  }
  for (const p of parts) p.z -= hz / 2;
  return built(parts);
}

/** Bottles and cans: liquid (organic) in plastic, glass (inorganic, green) or aluminium. */
export function bottle(rng: Rng): Built {
  const kind = rng.weighted(['pet', 'glass', 'can', 'standing'], [4, 2, 2, 2]);
  const parts: Part[] = [];
  if (kind === 'standing') {
    const r = rng.range(2.8, 4.5);
    const h = rng.range(12, 26);
    parts.push(disc(0, 0, r - 0.1, h * rng.range(0.6, 0.95), M.water));
    parts.push(...cup(0, 0, r, h, 0.05, rng.chance(0.3) ? M.glass : M.polyethylene));
    parts.push(disc(0, 0, r * 0.45, 1.2, M.abs, h / 2));
    return built(parts);
  }
  if (kind === 'can') {
    const r = rng.range(2.6, 3.4);
    const len = rng.range(9, 16);
    const steel = rng.chance(0.3);
    parts.push(cylinder(0, 0, 0, len - 0.6, r - 0.05, scaled(M.water, rng.range(0.85, 1))));
    parts.push(...tube(0, 0, 0, len, r, steel ? 0.02 : 0.012, steel ? M.steel : M.aluminium));
    // Rolled rims at both ends: several sheet thicknesses stacked, seen edge-on.
    for (const e of [-1, 1])
      parts.push(part([rect((e * len) / 2, 0, 0.25, r, 0)], steel ? M.steel : M.aluminium, 0.35));
    return built(parts);
  }
  const r = rng.range(2.8, 4.4);
  const len = rng.range(14, 26);
  const glass = kind === 'glass';
  const liquid = glass ? rng.pick([M.water, M.oil, M.water]) : M.water;
  const fill = rng.range(0.6, 1);
  parts.push(cylinder(-len * (1 - fill) * 0.5, 0, 0, len * fill, r - 0.2, liquid));
  parts.push(...tube(0, 0, 0, len, r, glass ? 0.35 : 0.03, glass ? M.glass : M.polyethylene));
  // Shoulder and neck taper to the cap.
  const neckR = r * rng.range(0.3, 0.45);
  const shoulder = [poly([len / 2, -r, len / 2 + r * 0.9, -neckR, len / 2 + r * 0.9, neckR, len / 2, r])];
  parts.push(
    part(shoulder, glass ? M.glass : M.polyethylene, glass ? 0.9 : 0.35, { prof: rod(len / 2, 0, 0, r) }),
  );
  if (fill > 0.95) parts.push(part(shoulder, liquid, r * 1.2, { prof: rod(len / 2, 0, 0, r) }));
  const capL = rng.range(1.2, 2.5);
  parts.push(
    part(
      [rect(len / 2 + r * 0.9 + capL / 2, 0, capL / 2, neckR * 1.15)],
      glass && rng.chance(0.5) ? M.aluminium : M.abs,
      neckR * 1.6,
    ),
  );
  if (glass && rng.chance(0.5))
    parts.push(part([rect(len / 2 + r * 0.9 + capL / 2, 0, capL / 2, neckR * 1.2)], M.aluminium, 0.2));
  return built(parts);
}

/** Cosmetics: jars, tubes, lipsticks, glass perfume bottles, aerosol cans, compacts. */
export function cosmetics(rng: Rng): Built {
  const kind = rng.weighted(['jar', 'tube', 'lipstick', 'perfume', 'aerosol', 'compact'], [3, 3, 2, 2, 2, 1]);
  const parts: Part[] = [];
  if (kind === 'jar') {
    const r = rng.range(2.5, 4.5);
    const h = rng.range(3, 6);
    parts.push(disc(0, 0, r - 0.3, h * 0.8, M.cream));
    parts.push(...cup(0, 0, r, h, 0.15, rng.chance(0.3) ? M.glass : M.abs));
    return built(parts);
  }
  if (kind === 'tube') {
    const len = rng.range(10, 19);
    const w = rng.range(1.8, 3);
    parts.push(
      part([poly([-len / 2, -w, len / 2 - 1, -w * 0.55, len / 2 - 1, w * 0.55, -len / 2, w])], M.cream, 2.2, {
        prof: dome(0, 0, len / 2 + 1, w * 1.2),
      }),
    );
    parts.push(part([rect(-len / 2, 0, 0.3, w)], rng.chance(0.5) ? M.aluminium : M.polyethylene, 0.6));
    parts.push(cylinder(len / 2 + 0.2, 0, 0, 2.4, w * 0.6, M.abs));
    return built(parts);
  }
  if (kind === 'lipstick') {
    parts.push(...tube(0, 0, 0, 7.5, 1, 0.05, rng.chance(0.6) ? M.aluminium : M.brass));
    parts.push(cylinder(1.5, 0, 0, 3.5, 0.75, M.cream));
    return built(parts);
  }
  if (kind === 'perfume') {
    const hl = rng.range(3, 5);
    const hw = rng.range(2.2, 3.5);
    parts.push(...shell(0, 0, hl, hw, hw * 1.5, 0.5, M.glass, 0, 0, 0.8));
    parts.push(part([roundRect(0, 0, hl - 0.6, hw - 0.6, 0.4)], M.water, hw * 1.2));
    parts.push(part([rect(hl + 0.8, 0, 0.8, 0.8)], rng.chance(0.5) ? M.aluminium : M.brass, 1.4));
    parts.push(cylinder(0, 0, 0, hl * 2, 0.12, M.polyethylene));
    return built(parts);
  }
  if (kind === 'aerosol') {
    const r = rng.range(2.2, 3.3);
    const len = rng.range(12, 20);
    parts.push(cylinder(0, 0, 0, len - 1, r - 0.1, scaled(M.oil, rng.range(0.4, 0.9))));
    parts.push(...tube(0, 0, 0, len, r, 0.03, M.aluminium));
    parts.push(part([rect(len / 2 + 0.6, 0, 0.6, r * 0.5)], M.steel, 0.5));
    parts.push(part([rect(len / 2 + 1.6, 0, 1.2, r * 0.8)], M.abs, r * 1.6));
    return built(parts);
  }
  const r = rng.range(3, 4.5);
  parts.push(...cup(0, 0, r, 1.4, 0.15, M.abs));
  parts.push(disc(0, 0, r * 0.8, 0.25, M.glass));
  parts.push(disc(0, 0, r * 0.7, 0.5, scaled(M.ceramic, 0.6)));
  parts.push(part([rect(r, 0, 0.3, 1.2)], M.steel, 0.3));
  return built(parts);
}

/** Packing material and soft goods: bubble wrap, paper fill, food packs, a wrapped gift. */
export function filler(rng: Rng): Built {
  const kind = rng.weighted(['bubble', 'paper', 'snack', 'food-can', 'toy', 'documents'], [2, 2, 3, 1, 2, 2]);
  const parts: Part[] = [];
  if (kind === 'bubble') {
    const a = rng.range(8, 20);
    const b = rng.range(6, 14);
    parts.push(
      part([blob(rng, 0, 0, a, b, 0, 0.12, 0.7)], M.polyethylene, 0.25, {
        tex: TEX_GRAIN,
        texAmp: 0.8,
        texScale: 4,
      }),
    );
    return built(parts);
  }
  if (kind === 'paper') {
    const a = rng.range(6, 16);
    const b = rng.range(5, 12);
    parts.push(
      part([blob(rng, 0, 0, a, b, 0, 0.3, 0.1)], M.paper, rng.range(0.2, 0.6), {
        tex: TEX_FOLDS,
        texAmp: 0.9,
        texScale: 5,
      }),
    );
    return built(parts);
  }
  if (kind === 'snack') {
    const a = rng.range(6, 14);
    const b = rng.range(4, 9);
    const outline = blob(rng, 0, 0, a, b, 0, 0.08, 0.85);
    parts.push(
      pouch(rng, outline, 0, 0, a, b, 0, rng.range(1.5, 5), scaled(M.food, rng.range(0.2, 0.6)), 0.5),
    );
    // Metallised film (aluminium coated): a faint inorganic veil, greenish on real machines.
    if (rng.chance(0.6)) parts.push(part([outline], M.aluminium, 0.004));
    return built(parts);
  }
  if (kind === 'food-can') {
    const r = rng.range(3.5, 5);
    const h = rng.range(4, 11);
    parts.push(disc(0, 0, r - 0.1, h * 0.95, scaled(M.food, 1.1)));
    parts.push(...cup(0, 0, r, h, 0.02, M.steel));
    parts.push(part(annulus(0, 0, r, r - 0.3), M.steel, 0.6));
    return built(parts);
  }
  if (kind === 'toy') {
    const hl = rng.range(4, 10);
    const hw = rng.range(3, 7);
    parts.push(...shell(0, 0, hl, hw, rng.range(3, 7), 0.2, M.abs, rng.range(-0.3, 0.3), 0, 1.5));
    if (rng.chance(0.5)) {
      parts.push(cylinder(0, 0, 0, 2.5, 1, M.steel));
      parts.push(...looseCable(rng, 0, 0, 8, 0.3, 0.06));
    }
    for (let i = 0; i < 4; i++)
      parts.push(...screw(rng.range(-hl, hl) * 0.8, rng.range(-hw, hw) * 0.8, rng.range(0, 6), 1, 0.12));
    return built(parts);
  }
  const hl = rng.range(10, 15);
  const hw = rng.range(7, 10.5);
  parts.push(part([rect(0, 0, hl, hw, rng.range(-0.1, 0.1))], M.paper, rng.range(0.1, 1)));
  if (rng.chance(0.5)) parts.push(part([rect(-hl + 1, -hw + 1, 1.2, 0.15)], M.steel, 0.1));
  return built(parts);
}

/** Kitchenware: cutlery (spoons and forks are the knife look-alikes), mugs, plates, flasks. */
export function kitchen(rng: Rng): Built {
  const kind = rng.weighted(['cutlery', 'mug', 'plate', 'flask'], [3, 2, 1, 2]);
  const parts: Part[] = [];
  if (kind === 'cutlery') {
    const n = rng.int(1, 6);
    for (let i = 0; i < n; i++) {
      const y = (i - n / 2) * rng.range(1.5, 3);
      const a = rng.range(-0.3, 0.3);
      const len = rng.range(14, 21);
      const handle = poly([-len / 2, -0.55, len * 0.15, -0.3, len * 0.15, 0.3, -len / 2, 0.55]);
      parts.push(part([place(handle, 0, y, a)], M.stainless, 0.22));
      if (rng.chance(0.5)) {
        parts.push(part([place(ellipse(len * 0.32, 0, len * 0.17, 1.7), 0, y, a)], M.stainless, 0.12));
      } else {
        for (const t of [-0.9, -0.3, 0.3, 0.9]) {
          parts.push(part([place(rect(len * 0.3, t, len * 0.16, 0.18), 0, y, a)], M.stainless, 0.2));
        }
        parts.push(part([place(rect(len * 0.17, 0, 0.8, 1.1), 0, y, a)], M.stainless, 0.2));
      }
    }
    return built(parts);
  }
  if (kind === 'mug') {
    const r = rng.range(3.8, 4.6);
    const h = rng.range(8, 11);
    const mat = rng.chance(0.7) ? M.ceramic : M.glass;
    parts.push(part(annulus(0, 0, r, r - 0.5), mat, h));
    parts.push(disc(0, 0, r - 0.5, 0.6, mat));
    parts.push(part(annulus(r + 1.2, 0, 1.9, 1.1, 2.4, 1.6), mat, 1.2));
    return built(parts);
  }
  if (kind === 'plate') {
    const r = rng.range(9, 13);
    parts.push(disc(0, 0, r, 0.5, M.ceramic));
    parts.push(part(annulus(0, 0, r, r - 1.2), M.ceramic, 1.4));
    return built(parts);
  }
  // Vacuum flask: two stainless walls, seen edge-on down both sides, and a plastic cap.
  const r = rng.range(3.3, 4.2);
  const len = rng.range(18, 28);
  parts.push(...tube(0, 0, 0, len, r, 0.06, M.stainless));
  parts.push(...tube(0, 0, 0, len - 1.5, r - 0.5, 0.05, M.stainless));
  parts.push(cylinder(len / 2 + 2, 0, 0, 4, r * 0.95, M.abs));
  if (rng.chance(0.5)) parts.push(cylinder(-0.5, 0, 0, len - 3, r - 0.6, scaled(M.water, 0.9)));
  return built(parts);
}
