/**
 * Clutter worn or carried: garments (light, organic, creased, with zips, buttons and the odd
 * underwire) and shoes (rubber soles, soft uppers, eyelets, steel shanks).
 */
import { M } from './materials.js';
import { type Built, built, disc } from './parts.js';
import type { Rng } from './random.js';
import {
  annulus,
  blob,
  dome,
  ellipse,
  type Part,
  part,
  place,
  poly,
  rect,
  reversed,
  roundRect,
  stroke,
  TEX_FOLDS,
  TEX_GRAIN,
  TEX_LAYERS,
  torus,
  wanderPath,
} from './shapes.js';

/** Folded or crumpled garments: big, light, organic, with creases; sometimes a zip, buttons or an underwire. */
export function clothes(rng: Rng): Built {
  const a = rng.range(9, 22);
  const b = rng.range(7, 15);
  const h = rng.range(3, 11);
  const mat = rng.pick([M.cotton, M.denim, M.wool, M.cotton, M.synthetic]);
  const parts: Part[] = [];
  const layers = rng.int(1, 4);
  for (let i = 0; i < layers; i++) {
    const f = 1 - i * rng.range(0.1, 0.3);
    const ox = rng.range(-2, 2);
    const oy = rng.range(-2, 2);
    const ang = rng.range(-0.25, 0.25);
    const outline = blob(rng, ox, oy, a * f, b * f, ang, rng.range(0.1, 0.3), rng.range(0.2, 0.9));
    // Soft edges (cloth rolls over at a fold) and creases across the whole garment.
    parts.push(
      part([outline], mat, h / layers, {
        tex: TEX_FOLDS,
        texAmp: rng.range(0.45, 0.8),
        texScale: rng.range(1.5, 4),
        prof: dome(ox, oy, a * f * 1.25, b * f * 1.25, ang),
        z: (i - (layers - 1) / 2) * (h / layers),
      }),
    );
  }
  if (rng.chance(0.5)) {
    // Seams and hems: doubled fabric along edges, a faint darker line.
    const pts = wanderPath(
      rng,
      rng.range(-a, 0),
      rng.range(-b, b) * 0.6,
      rng.range(a * 0.5, a * 1.5),
      1.5,
      0.08,
    );
    parts.push(part(stroke(pts, rng.range(0.3, 0.8)), mat, h * 0.4));
  }
  if (rng.chance(0.3)) {
    // A zip: brass teeth along a line, reads as a dotted metal stroke.
    const x0 = rng.range(-a * 0.6, 0);
    const y0 = rng.range(-b * 0.5, b * 0.5);
    const path = wanderPath(rng, x0, y0, rng.range(10, a * 1.4), 1, 0.05);
    parts.push(part(stroke(path, 0.3), M.brass, 0.12, { tex: TEX_LAYERS, texAmp: 0.6, texScale: 10 }));
    parts.push(part(stroke(path, 0.5), M.polyethylene, 0.2));
  }
  if (rng.chance(0.35)) {
    const n = rng.int(3, 7);
    const metal = rng.chance(0.4);
    const x = rng.range(-a * 0.5, a * 0.5);
    const y0 = rng.range(-b * 0.6, -b * 0.2);
    for (let i = 0; i < n; i++) {
      const r = rng.range(0.5, 0.9);
      parts.push(part(annulus(x, y0 + i * rng.range(3, 5), r, r * 0.3), metal ? M.brass : M.abs, 0.25));
    }
  }
  if (rng.chance(0.08)) {
    // Underwired bra: two thin steel arcs, a classic look-alike for blades.
    for (const side of [-1, 1]) {
      const pts: number[] = [];
      for (let t = 0.15; t <= 0.85; t += 0.05)
        pts.push(side * 7 + 6 * Math.cos(Math.PI * t), 6 * Math.sin(Math.PI * t) - 2);
      parts.push(part(stroke(pts, 0.12), M.steel, 0.2));
    }
  }
  return built(parts);
}

/** A shoe or a pair: rubber sole, soft upper, metal eyelets, sometimes a steel shank or a heel. */
export function shoes(rng: Rng): Built {
  const parts: Part[] = [];
  const pair = rng.chance(0.6);
  const len = rng.range(22, 31);
  const wid = len * rng.range(0.33, 0.4);
  const boot = rng.chance(0.2);
  for (let k = 0; k < (pair ? 2 : 1); k++) {
    const oy = pair ? (k - 0.5) * wid * rng.range(1.05, 1.4) : 0;
    const ox = pair ? rng.range(-3, 3) : 0;
    const flip = k === 1 && rng.chance(0.5) ? -1 : 1;
    // Foot outline: wide at the ball, narrow at the waist, round at the heel.
    const pts: number[] = [];
    const n = 28;
    for (let i = 0; i < n; i++) {
      const t = (i / n) * Math.PI * 2;
      const u = Math.cos(t);
      const x = (u * len) / 2;
      const bulge = u > 0.1 ? 1 : u > -0.45 ? 0.78 : 0.85;
      const y = Math.sin(t) * (wid / 2) * bulge;
      pts.push(ox + flip * x, oy + y);
    }
    const sole = flip < 0 ? place(poly(pts), 0, 0, 0, 1, 1) : poly(pts);
    const soleH = rng.range(1.2, 3.5);
    parts.push(part([sole], M.rubber, soleH, { z: -3, tex: TEX_GRAIN, texAmp: 0.15, texScale: 3 }));
    parts.push(
      part([ellipse(ox - flip * len * 0.05, oy, len * 0.42, wid * 0.44)], M.leather, boot ? 1.6 : 0.9, {
        z: 2,
        prof: dome(ox - flip * len * 0.05, oy, len * 0.45, wid * 0.47),
        tex: TEX_FOLDS,
        texAmp: 0.3,
        texScale: 3,
      }),
    );
    if (rng.chance(0.5))
      parts.push(
        part([ellipse(ox - (flip * len) / 2 + flip * 3.5, oy, 3.2, wid * 0.4)], M.rubber, 3, { z: -2 }),
      );
    if (rng.chance(0.6)) {
      const pairs = rng.int(3, 7);
      for (let i = 0; i < pairs; i++) {
        for (const side of [-1, 1]) {
          const ex = ox + flip * (len * 0.05 + i * 1.4);
          parts.push(part(annulus(ex, oy + side * wid * 0.17, 0.32, 0.16), M.brass, 0.12, { z: 5 }));
        }
      }
    }
    if (rng.chance(0.35))
      parts.push(part([rect(ox - flip * len * 0.12, oy, 4.5, 0.6)], M.steel, 0.18, { z: -3 }));
  }
  return built(parts);
}

/** Small things people carry: belts, watches, glasses, wallets, pens, bunches of hair clips. */
export function accessories(rng: Rng): Built {
  const kind = rng.weighted(['belt', 'watch', 'glasses', 'wallet', 'pens'], [3, 2, 2, 2, 2]);
  const parts: Part[] = [];
  if (kind === 'belt') {
    // Rolled or loosely coiled leather strap with a steel buckle frame and tongue.
    const pts = wanderPath(rng, 0, 0, rng.range(40, 90), 1.2, rng.range(0.15, 0.35));
    parts.push(part(stroke(pts, rng.range(1.5, 2)), M.leather, 0.4));
    const bx = pts[0]!;
    const by = pts[1]!;
    const frame = [rect(bx, by, 2.4, 2.2), reversed(rect(bx, by, 1.9, 1.7))];
    parts.push(part(frame, rng.chance(0.6) ? M.zinc : M.steel, 0.5));
    parts.push(part([rect(bx + 0.6, by, 1.8, 0.15)], M.steel, 0.3));
    return built(parts);
  }
  if (kind === 'watch') {
    const r = rng.range(1.6, 2.3);
    parts.push(part(annulus(0, 0, r, r - 0.35), M.stainless, 1.1, { prof: torus(0, 0, r - 0.17, 0.3) }));
    parts.push(disc(0, 0, r - 0.3, 0.35, M.stainless));
    parts.push(disc(0, 0, r * 0.55, 0.35, M.brass));
    parts.push(disc(0, 0, r * 0.5, 0.3, M.cellCore));
    const metalBand = rng.chance(0.5);
    for (const e of [-1, 1]) {
      const len = rng.range(5, 9);
      if (metalBand) {
        for (let i = 0; i < len / 1.1; i++) {
          parts.push(part([rect(0, e * (r + 0.6 + i * 1.1), 1.1, 0.5)], M.stainless, 0.35));
        }
      } else parts.push(part([rect(0, e * (r + len / 2), 1.1, len / 2)], M.leather, 0.35));
    }
    return built(parts);
  }
  if (kind === 'glasses') {
    // Hard case (plastic shell) around thin metal or plastic frames and two lenses.
    const metal = rng.chance(0.5);
    for (const s of [-1, 1]) {
      parts.push(part(annulus(s * 3, 0, 2.6, 2.4, 2, 1.8), metal ? M.stainless : M.abs, metal ? 0.2 : 0.5));
      parts.push(part([ellipse(s * 3, 0, 2.4, 1.8)], rng.chance(0.5) ? M.glass : M.abs, 0.25));
      parts.push(part([rect(s * 6.5, -1.2, 1, 0.12)], metal ? M.stainless : M.abs, 0.3));
    }
    if (rng.chance(0.6)) parts.push(...shellBox(rng, 7.8, 3.2, 3.6, 0.2));
    return built(parts);
  }
  if (kind === 'wallet') {
    parts.push(part([roundRect(0, 0, 5.5, 4.5, 0.6)], M.leather, rng.range(1, 2.2)));
    for (let i = 0; i < rng.int(2, 6); i++) {
      parts.push(part([roundRect(rng.range(-1, 1), rng.range(-0.6, 0.6), 4.3, 2.7, 0.3)], M.pvc, 0.08));
    }
    for (let i = 0; i < rng.int(0, 5); i++) {
      parts.push(part([ellipse(rng.range(-3, 3), rng.range(-2.5, 2.5), 1.1, 1.1)], M.brass, 0.2));
    }
    return built(parts);
  }
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) {
    const y = (i - n / 2) * rng.range(1, 1.8);
    const a = rng.range(-0.15, 0.15);
    const len = rng.range(12, 15);
    parts.push(part([place(roundRect(0, 0, len / 2, 0.45, 0.3), rng.range(-1, 1), y, a)], M.abs, 0.7));
    // Refill, spring and nib: the metal bits that make a pen look like a pen on a scan.
    parts.push(part([place(rect(1, 0, 3, 0.08), 0, y, a)], M.brass, 0.15));
    parts.push(part([place(rect(-1.5, 0, 1, 0.18), 0, y, a)], M.steel, 0.1));
    parts.push(part([place(rect(len / 2 - 0.2, 0, 0.3, 0.15), 0, y, a)], M.brass, 0.3));
    if (rng.chance(0.5)) parts.push(part([place(rect(-len / 2 + 2, 0.55, 2, 0.12), 0, y, a)], M.steel, 0.2));
  }
  return built(parts);
}

function shellBox(rng: Rng, hl: number, hw: number, h: number, wall: number): Part[] {
  const outer = roundRect(0, 0, hl, hw, hw * 0.8);
  return [
    part([outer], rng.chance(0.5) ? M.abs : M.board, wall * 2),
    part([outer, reversed(roundRect(0, 0, hl - wall, hw - wall, hw * 0.7))], M.abs, h),
  ];
}
