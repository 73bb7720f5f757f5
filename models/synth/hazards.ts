/**
 * Hazards among the threat classes: lighters, cells and power banks, improvised explosive devices.
 */
import { M, scaled } from './materials.js';
import { type Built, built, cableAlong, circuitBoard, cylinder, disc, shell, tube } from './parts.js';
import type { Rng } from './random.js';
import { annulus, type Part, part, rect, rod, roundRect, TEX_GRAIN, TEX_LAYERS } from './shapes.js';

export function lighter(rng: Rng): Built {
  const parts: Part[] = [];
  if (rng.chance(0.25)) {
    // Petrol lighter: a metal box with a chimney and wheel; the wick's cotton inside.
    parts.push(...shell(0, 0, 2.8, 1.9, 1.3, 0.1, rng.chance(0.5) ? M.brass : M.steel, 0, 0, 0.4));
    parts.push(part([rect(-0.4, 0, 2.2, 1.6)], M.steel, 0.2));
    parts.push(part([rect(2, 0, 0.6, 1.1)], M.steel, 0.5));
    parts.push(disc(2, 0.9, 0.35, 0.6, M.steel));
    parts.push(part([rect(-0.5, 0, 2, 1.4)], scaled(M.cotton, 2), 1));
    return built(parts);
  }
  const len = rng.range(6, 8.2);
  const w = rng.range(1.1, 1.35);
  const h = rng.range(1, 1.3);
  // The tank holds butane at a few bar, so its acetal walls are ~2 mm: that, more than the fuel, is
  // what outlines a lighter on screen.
  parts.push(...shell(-0.6, 0, len / 2 - 0.6, w, h, rng.range(0.17, 0.24), M.pom, 0, 0, 0.5));
  const fill = rng.range(0.2, 1);
  parts.push(
    part(
      [roundRect(-0.6 - (len / 2 - 1) * (1 - fill), 0, (len / 2 - 1) * fill, w - 0.2, 0.4)],
      M.butane,
      h * 0.8,
    ),
  );
  // Head: steel hood around the flint wheel, the valve rod down into the tank.
  parts.push(...shell(len / 2 - 0.5, 0, 0.7, w * 0.9, h * 0.85, 0.05, M.steel));
  parts.push(part([rect(len / 2 - 0.3, 0.2, 0.35, 0.45)], M.steel, h * 0.7));
  parts.push(cylinder(len / 2 - 1.8, -0.25, 0, 2, 0.1, M.steel));
  parts.push(part([rect(len / 2 - 1.6, -0.5, 0.35, 0.3)], M.abs, h));
  return built(parts);
}

/** One cylindrical cell along +x: steel can, electrode core, positive cap. */
function cell(cx: number, cy: number, angle: number, kind: 'aa' | 'aaa' | '18650' | 'c'): Part[] {
  const dims = { aa: [5, 0.72], aaa: [4.4, 0.52], '18650': [6.5, 0.92], c: [5, 1.3] } as const;
  const [len, r] = dims[kind];
  const core = kind === '18650' ? M.cellCore : M.alkalineCore;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [
    ...tube(cx, cy, angle, len, r, 0.025, M.steel),
    cylinder(cx - c * 0.1, cy - s * 0.1, angle, len - 0.6, r - 0.05, core),
    cylinder(cx, cy, angle, len - 0.8, 0.12, kind === '18650' ? M.copper : M.brass),
    part([rect(cx + (c * len) / 2, cy + (s * len) / 2, 0.12, r * 0.4, angle)], M.steel, r),
  ];
}

export function battery(rng: Rng): Built {
  const kind = rng.weighted(['cells', 'powerbank', 'pouch', '9v'], [3, 4, 2, 1]);
  const parts: Part[] = [];
  if (kind === 'cells') {
    const type = rng.pick(['aa', 'aaa', '18650', 'c'] as const);
    const n = rng.int(1, 6);
    const packed = rng.chance(0.6);
    const r = { aa: 0.72, aaa: 0.52, '18650': 0.92, c: 1.3 }[type];
    for (let i = 0; i < n; i++) {
      const x = packed ? 0 : rng.range(-3, 3);
      const y = packed ? (i - (n - 1) / 2) * r * 2.05 : rng.range(-3, 3);
      const a = packed ? (i % 2 ? Math.PI : 0) : rng.range(0, Math.PI);
      parts.push(...cell(x, y, a, type));
    }
    if (packed && n > 1 && rng.chance(0.5))
      parts.push(part([rect(0, 0, 3.4, n * r + 0.1)], M.plasticFilm, 0.1));
    return built(parts);
  }
  if (kind === '9v') {
    parts.push(...shell(0, 0, 2.4, 1.3, 1.7, 0.03, M.steel));
    for (let i = 0; i < 6; i++)
      parts.push(part([rect(-0.2, -1.05 + i * 0.42, 2.1, 0.19)], M.alkalineCore, 1.5));
    parts.push(disc(2.6, -0.5, 0.35, 0.4, M.steel), part(annulus(2.6, 0.5, 0.4, 0.2), M.steel, 0.4));
    return built(parts);
  }
  const hl = rng.range(4.5, 8);
  const hw = rng.range(3, 4.2);
  const h = rng.range(1.4, 2.6);
  parts.push(...shell(0, 0, hl, hw, h, 0.15, rng.chance(0.3) ? M.aluminium : M.abs, 0, 0, 0.7));
  if (kind === 'powerbank') {
    const n = Math.max(1, Math.min(4, Math.floor((hw * 2 - 0.4) / 1.9)));
    for (let i = 0; i < n; i++) parts.push(...cell(-0.9, (i - (n - 1) / 2) * 1.9, 0, '18650'));
    parts.push(...circuitBoard(rng, hl - 1.4, 0, 1, hw - 0.5));
    parts.push(...shell(hl - 0.5, -hw * 0.4, 0.5, 0.65, 0.35, 0.04, M.steel));
    parts.push(...shell(hl - 0.5, hw * 0.4, 0.5, 0.45, 0.3, 0.04, M.steel));
  } else {
    // Lithium pouch cell: laminated foils, uniform and layered.
    parts.push(
      part([rect(-0.6, 0, hl - 1.4, hw - 0.4)], M.cellCore, h * 0.55, {
        tex: TEX_LAYERS,
        texAmp: 0.06,
        texScale: 12,
      }),
    );
    parts.push(
      part([rect(hl - 1.5, -1, 0.4, 0.4)], M.aluminium, 0.1),
      part([rect(hl - 1.5, 1, 0.4, 0.4)], M.copper, 0.1),
    );
    parts.push(...circuitBoard(rng, hl - 0.9, 0, 0.5, hw - 0.6));
  }
  return built(parts);
}

export function ied(rng: Rng): Built {
  const parts: Part[] = [];
  const pipe = rng.chance(0.25);
  let hx: number;
  let hy: number;
  if (pipe) {
    const len = rng.range(14, 24);
    const r = rng.range(1.8, 3);
    parts.push(cylinder(0, 0, 0, len - 1, r - 0.3, M.explosive));
    parts.push(...tube(0, 0, 0, len, r, 0.35, M.steel));
    for (const e of [-1, 1])
      parts.push(
        part([rect((e * len) / 2, 0, 0.9, r + 0.3)], M.steel, 2 * r + 0.4, {
          prof: rod((e * len) / 2, 0, 0, r + 0.3),
        }),
      );
    hx = len / 2 + 1;
    hy = r + 0.5;
  } else {
    const hl = rng.range(4, 10);
    const hw = rng.range(3, 6);
    const h = rng.range(2.5, 5.5);
    const sticks = rng.chance(0.35);
    if (sticks) {
      const n = Math.max(2, Math.floor(hw / 1.5));
      for (let i = 0; i < n; i++) parts.push(cylinder(0, (i - (n - 1) / 2) * 3, 0, hl * 2, 1.5, M.explosive));
      hy = n * 1.5 + 0.5;
    } else {
      parts.push(
        part([roundRect(0, 0, hl, hw, 0.6)], M.explosive, h, { tex: TEX_GRAIN, texAmp: 0.05, texScale: 6 }),
      );
      hy = hw;
    }
    // Tape wrapped round the charge.
    for (let i = 0; i < rng.int(1, 3); i++)
      parts.push(part([rect(rng.range(-hl, hl) * 0.7, 0, 1.2, hy + 0.2)], M.pvc, 0.3));
    hx = hl;
    if (rng.chance(0.3)) {
      // Fragmentation: nails and ball bearings taped to the charge.
      for (let i = 0; i < rng.int(8, 25); i++) {
        const x = rng.range(-hl, hl);
        const y = rng.range(-hy, hy);
        if (rng.chance(0.5)) parts.push(disc(x, y, 0.3, 0.6, M.steel));
        else parts.push(cylinder(x, y, rng.range(0, 3.14), rng.range(2.5, 5), 0.15, M.steel));
      }
    }
  }
  // Power: a 9 V block or a pair of cells; the initiator: a small board (timer, phone) and a detonator.
  const bx = hx + 3;
  const by = rng.range(-hy, hy) * 0.5;
  if (rng.chance(0.5)) {
    parts.push(...shell(bx, by, 2.4, 1.3, 1.7, 0.03, M.steel));
    for (let i = 0; i < 6; i++)
      parts.push(part([rect(bx - 0.2, by - 1.05 + i * 0.42, 2.1, 0.19)], M.alkalineCore, 1.5));
  } else {
    for (let i = 0; i < 2; i++) {
      parts.push(...tube(bx, by + (i - 0.5) * 1.5, 0, 5, 0.72, 0.025, M.steel));
      parts.push(cylinder(bx, by + (i - 0.5) * 1.5, 0, 4.4, 0.67, M.alkalineCore));
    }
  }
  const ex = -hx - rng.range(1, 3);
  const ey = rng.range(-hy, hy) * 0.5;
  parts.push(...circuitBoard(rng, ex, ey, rng.range(1.5, 3), rng.range(1.2, 2.2)));
  const dx = rng.range(-hx, hx) * 0.5;
  parts.push(
    ...tube(dx, hy * 0.2, rng.range(-0.5, 0.5), 4, 0.35, 0.05, rng.chance(0.5) ? M.aluminium : M.copper),
  );
  // Wires: battery → board → detonator, and some extra leads; loose and curling.
  const wires = rng.int(2, 4);
  for (let i = 0; i < wires; i++) {
    const [x0, y0, x1, y1] = rng.pick([
      [bx - 2, by, ex, ey],
      [ex, ey, dx, hy * 0.2],
      [bx, by, dx, hy * 0.2],
    ]);
    const pts: number[] = [];
    const bend = rng.range(-4, 4);
    for (let t = 0; t <= 1.001; t += 0.1)
      pts.push(x0 + (x1 - x0) * t + rng.range(-0.3, 0.3), y0 + (y1 - y0) * t + bend * Math.sin(Math.PI * t));
    parts.push(...cableAlong(pts, 0.13, 0.05));
  }
  return built(parts);
}
