/**
 * Drug classes: pressed bricks in tape, bags of pills, bags of powder; dense organic, soft outlines.
 */
import { M, scaled } from './materials.js';
import { type Built, bagFilm, built, pouch, shell } from './parts.js';
import type { Rng } from './random.js';
import {
  blob,
  dome,
  ellipse,
  type Part,
  part,
  rect,
  reversed,
  rod,
  roundRect,
  TEX_FOLDS,
  TEX_GRAIN,
  TEX_LAYERS,
} from './shapes.js';

export function drugBrick(rng: Rng): Built {
  const parts: Part[] = [];
  const n = rng.weighted([1, 2, 3], [5, 3, 1]);
  const hl = rng.range(7, 13);
  const hw = rng.range(4.5, 8);
  const h = rng.range(2.5, 5);
  const density = rng.range(0.85, 1.15);
  for (let i = 0; i < n; i++) {
    const oy = (i - (n - 1) / 2) * (hw * 2 + 0.2);
    const a = rng.range(-0.05, 0.05);
    const outline = roundRect(0, oy, hl, hw, rng.range(0.5, 1.6), a, 3);
    // Pressed powder in a pillow shape: flat top, edges rounded off over the last centimetre or two.
    parts.push(
      part([outline], scaled(M.cocaine, density), h, {
        prof: dome(0, oy, hl * 1.6, hw * 1.6, a),
        tex: TEX_GRAIN,
        texAmp: 0.06,
        texScale: 8,
      }),
    );
    // Wrapping: several layers of tape and film, thicker where they overlap at the edges.
    const wraps = rng.int(2, 6);
    parts.push(
      part([roundRect(0, oy, hl + 0.3, hw + 0.3, 1.2, a, 3)], M.pvc, 0.04 * wraps, {
        tex: TEX_LAYERS,
        texAmp: 0.5,
        texScale: rng.range(1, 3),
      }),
    );
    parts.push(
      part(
        [
          roundRect(0, oy, hl + 0.3, hw + 0.3, 1.2, a, 3),
          reversed(roundRect(0, oy, hl - 0.4, hw - 0.4, 0.8, a, 3)),
        ],
        M.plasticFilm,
        h * 0.12,
      ),
    );
  }
  return built(parts);
}

export function drugPills(rng: Rng): Built {
  const parts: Part[] = [];
  const bottle = rng.chance(0.2);
  const hl = bottle ? rng.range(2.5, 4) : rng.range(4, 9);
  const hw = bottle ? rng.range(2, 3) : rng.range(3, 6.5);
  if (bottle) parts.push(...shell(0, 0, hl, hw, hw * 2, 0.12, M.polyethylene, 0, 0, hw * 0.8));
  else {
    const bag = roundRect(0, 0, hl, hw, 0.6);
    parts.push(bagFilm(rng, bag, rng.range(0.03, 0.08)));
    parts.push(part([rect(0, hw - 0.8, hl, 0.25)], M.polyethylene, 0.3));
  }
  const count = bottle ? rng.int(25, 70) : rng.int(60, 250);
  const oval = rng.chance(0.45);
  const capsule = !oval && rng.chance(0.25);
  const a = capsule ? rng.range(0.7, 1.1) : oval ? rng.range(0.5, 0.9) : rng.range(0.35, 0.6);
  const b = capsule ? rng.range(0.28, 0.38) : oval ? rng.range(0.3, 0.45) : a;
  const th = capsule ? 2 * b : rng.range(0.35, 0.65);
  const mat = scaled(M.tablet, rng.range(0.85, 1.2));
  // Pills settle towards one corner of the bag; overlaps darken where they pile up.
  const sx = rng.range(-0.4, 0.4) * hl;
  const sy = rng.range(-0.3, 0.3) * hw;
  for (let i = 0; i < count; i++) {
    const x = Math.max(-hl + a, Math.min(hl - a, sx + rng.gauss() * hl * 0.35));
    const y = Math.max(-hw + a, Math.min(hw - 1.2, sy + rng.gauss() * hw * 0.35));
    const ang = rng.range(0, Math.PI);
    const contour = capsule ? roundRect(x, y, a, b, b, ang) : ellipse(x, y, a, b, ang, 12);
    parts.push(
      part([contour], mat, th, { prof: capsule ? rod(x, y, ang, b) : dome(x, y, a * 1.15, b * 1.15, ang) }),
    );
  }
  return built(parts);
}

/**
 * One bag of powder. Several bags in a parcel are several items, each with its own box, as a labeller
 * draws them; one box around bags lying apart would teach the detector a shape that is not there.
 */
export function drugPowder(rng: Rng): Built {
  const a = rng.range(3.5, 10);
  const b = a * rng.range(0.55, 0.9);
  const ang = rng.range(-0.4, 0.4);
  const outline = blob(rng, 0, 0, a, b, ang, 0.12, rng.range(0.1, 0.6));
  const h = rng.range(1.5, 4.5);
  // The twisted or knotted neck of the bag: a small dense tuft of film.
  const kx = Math.cos(ang) * a * 1.1;
  const ky = Math.sin(ang) * a * 1.1;
  return built([
    pouch(rng, outline, 0, 0, a, b, ang, h, scaled(M.powderBulk, rng.range(0.85, 1.35)), 0.1),
    bagFilm(rng, blob(rng, 0, 0, a * 1.08, b * 1.08, ang, 0.1, 0.3), 0.05),
    part([ellipse(kx, ky, 0.9, 0.5, ang)], M.polyethylene, 0.7, { tex: TEX_FOLDS, texAmp: 0.5, texScale: 8 }),
  ]);
}
