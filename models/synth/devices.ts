/**
 * Hard clutter: cables and chargers, electronics without cells, hand tools and hardware. Several are
 * deliberate look-alikes for threats (pliers, keys, umbrella ribs), as in real parcels.
 */
import { M } from './materials.js';
import { type Built, built, circuitBoard, cylinder, disc, looseCable, screw, shell } from './parts.js';
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
  reversed,
  roundRect,
  stroke,
  TEX_FBM,
  TEX_FOLDS,
  TEX_LAYERS,
  torus,
} from './shapes.js';

/** Cables: loose or coiled, often with a plug, sometimes a charger brick. */
export function cables(rng: Rng): Built {
  const parts: Part[] = [];
  const r = rng.range(0.12, 0.35);
  const coiled = rng.chance(0.55);
  const len = coiled ? rng.range(50, 150) : rng.range(20, 60);
  parts.push(...looseCable(rng, 0, 0, len, coiled ? rng.range(0.25, 0.5) : rng.range(0.08, 0.2), r));
  if (rng.chance(0.7)) {
    parts.push(part([rect(0, 0, 1.3, 0.7)], M.abs, 1));
    parts.push(part([rect(-1.8, 0, 0.6, 0.45)], M.steel, 0.35));
  }
  if (rng.chance(0.35)) {
    // Charger: plastic brick with a transformer and two prongs.
    const bx = rng.range(-4, 4);
    parts.push(...shell(bx, 3, 3, 2.5, 3, 0.2, M.abs));
    parts.push(part([rect(bx, 3, 1.2, 1)], M.magnet, 1.6, { z: 0 }));
    parts.push(...circuitBoard(rng, bx + 1, 3, 1.6, 2, 0, 0));
    for (const s of [-0.6, 0.6]) parts.push(part([rect(bx - 4, 3 + s, 1, 0.12)], M.brass, 0.5));
  }
  return built(parts);
}

/** Electronics without cells: phones' bare boards, routers, hard drives, headphones, keyboards. */
export function electronics(rng: Rng): Built {
  const kind = rng.weighted(
    ['router', 'board', 'drive', 'headphones', 'keyboard', 'phone'],
    [3, 2, 2, 2, 1, 2],
  );
  const parts: Part[] = [];
  if (kind === 'router' || kind === 'board') {
    const hl = rng.range(5, 12);
    const hw = rng.range(4, 9);
    if (kind === 'router') parts.push(...shell(0, 0, hl, hw, rng.range(2.5, 5), 0.2, M.abs, 0, 0, 0.8));
    parts.push(...circuitBoard(rng, 0, 0, hl - 1, hw - 1));
    if (rng.chance(0.5)) {
      // Aluminium heat sink: fins seen edge-on read as stripes.
      const fins = rng.int(5, 10);
      for (let i = 0; i < fins; i++) parts.push(part([rect(-2 + i * 0.5, 0, 0.08, 1.8)], M.aluminium, 1.5));
    }
    if (rng.chance(0.5))
      parts.push(...screw(hl - 1.5, hw - 1.5, 0, 0.8, 0.15), ...screw(-hl + 1.5, -hw + 1.5, 0, 0.8, 0.15));
    return built(parts);
  }
  if (kind === 'drive') {
    parts.push(...shell(0, 0, 5, 3.5, 0.9, 0.08, M.aluminium));
    parts.push(disc(0.8, 0, 3.2, 0.15, M.aluminium));
    parts.push(disc(0.8, 0, 0.6, 0.6, M.steel));
    parts.push(part([roundRect(-3.4, 2, 0.9, 0.7, 0.3)], M.magnet, 0.5));
    parts.push(...circuitBoard(rng, -1, -2.4, 3.5, 0.9));
    return built(parts);
  }
  if (kind === 'headphones') {
    const r = rng.range(7, 9);
    const pts: number[] = [];
    for (let t = 0; t <= 1.001; t += 0.05)
      pts.push(r * Math.cos(Math.PI * t), -r * Math.sin(Math.PI * t) + 2);
    parts.push(part(stroke(pts, 0.8), M.abs, 1.2));
    parts.push(part(stroke(pts, 0.2), M.steel, 0.15));
    for (const s of [-1, 1]) {
      parts.push(part([ellipse(s * r, 3, 3.5, 4.2)], M.abs, 3.5, { prof: dome(s * r, 3, 3.6, 4.3) }));
      parts.push(disc(s * r, 3, 1.3, 0.45, M.magnet));
      parts.push(part(annulus(s * r, 3, 2, 1.6), M.steel, 0.12));
    }
    if (rng.chance(0.5)) parts.push(...looseCable(rng, r, 6, rng.range(30, 80), 0.3, 0.15));
    return built(parts);
  }
  if (kind === 'keyboard') {
    const hl = rng.range(14, 22);
    const hw = rng.range(5.5, 7.5);
    parts.push(...shell(0, 0, hl, hw, 2, 0.15, M.abs, 0, 0, 0.6));
    parts.push(part([rect(0, 0, hl - 0.6, hw - 0.6)], M.steel, 0.04));
    parts.push(
      part([rect(0, 0, hl - 0.8, hw - 0.8)], M.abs, 0.6, { tex: TEX_LAYERS, texAmp: 0.5, texScale: 14 }),
    );
    parts.push(...circuitBoard(rng, hl - 3, hw - 1.6, 2, 0.8));
    return built(parts);
  }
  // A phone or tablet with its cell removed: frame, glass, board, camera, speaker magnet.
  const hl = rng.range(7, 12);
  const hw = hl * rng.range(0.45, 0.7);
  // Frame seen edge-on round the rim; glass front and (often) glass or aluminium back.
  const frame = rng.chance(0.5) ? M.aluminium : M.stainless;
  parts.push(
    part([roundRect(0, 0, hl, hw, 0.9), reversed(roundRect(0, 0, hl - 0.25, hw - 0.25, 0.7))], frame, 0.8),
  );
  parts.push(part([roundRect(0, 0, hl - 0.2, hw - 0.2, 0.8)], M.glass, rng.chance(0.5) ? 0.12 : 0.06));
  parts.push(part([roundRect(0, 0, hl - 0.2, hw - 0.2, 0.8)], rng.chance(0.5) ? M.glass : M.aluminium, 0.06));
  parts.push(part([roundRect(-hl * 0.2, 0, hl * 0.55, hw * 0.8, 0.3)], M.steel, 0.02));
  parts.push(...circuitBoard(rng, hl * 0.55, 0, hl * 0.35, hw * 0.8));
  parts.push(disc(hl * 0.75, hw * 0.5, 0.7, 0.6, M.steel));
  parts.push(part([rect(-hl + 0.9, 0, 0.4, 1)], M.magnet, 0.3));
  for (let i = 0; i < 4; i++)
    parts.push(disc(rng.range(-hl, hl) * 0.8, rng.range(-hw, hw) * 0.8, 0.12, 0.2, M.steel));
  return built(parts);
}

/** Hand tools and small hardware: metal, mostly solid, several of them look-alikes for weapons. */
export function tools(rng: Rng): Built {
  const kind = rng.weighted(
    ['wrench', 'screwdriver', 'pliers', 'hammer', 'keys', 'coins', 'umbrella', 'tape', 'nails'],
    [3, 3, 2, 1, 3, 2, 2, 1, 1],
  );
  const parts: Part[] = [];
  if (kind === 'wrench') {
    const len = rng.range(12, 22);
    parts.push(part([rect(0, 0, len / 2, len * 0.05)], M.steel, 0.55));
    for (const e of [-1, 1]) {
      const r = len * rng.range(0.09, 0.12);
      const cx = (e * len) / 2;
      // Open jaw: an arc of a disc with a slot, drawn as one polygon.
      const pts: number[] = [];
      const open = e > 0 || rng.chance(0.5);
      const gap = open ? 0.55 : 0;
      for (let i = 0; i <= 20; i++) {
        const t = gap + (i / 20) * (Math.PI * 2 - 2 * gap);
        pts.push(cx + e * r * Math.cos(t), r * Math.sin(t));
      }
      if (open) {
        pts.push(cx + e * r * 0.2, -r * 0.45, cx + e * r * 0.2, r * 0.45);
        parts.push(part([poly(pts)], M.steel, 0.75));
      } else parts.push(part(annulus(cx, 0, r, r * 0.5), M.steel, 0.75));
    }
    return built(parts);
  }
  if (kind === 'screwdriver') {
    const shaft = rng.range(6, 16);
    const hr = rng.range(1.1, 1.6);
    const hl = rng.range(8, 11);
    parts.push(cylinder(-hl / 2, 0, 0, hl, hr, M.abs, 0, true));
    parts.push(cylinder(shaft / 2, 0, 0, shaft, rng.range(0.2, 0.35), M.steel));
    parts.push(cylinder(-hl * 0.2, 0, 0, hl * 0.7, 0.3, M.steel));
    return built(parts);
  }
  if (kind === 'pliers') {
    const open = rng.range(0.05, 0.25);
    for (const s of [-1, 1]) {
      const handle = place(poly([0, 0, -13, 0.9, -13, 2.2, 0, 0.7]), 0, 0, s * open, 1, s);
      parts.push(part([handle], M.steel, 0.9));
      parts.push(
        part([place(poly([-2, 0.4, -13.5, 1.2, -13.5, 2.6, -2, 1.3]), 0, 0, s * open, 1, s)], M.pvc, 1.4),
      );
      parts.push(
        part([place(poly([0, -0.2, 5.5, 0.05, 5.5, 0.6, 0, 1.2]), 0, 0, -s * open * 0.3, 1, s)], M.steel, 1),
      );
    }
    parts.push(disc(0, 0, 0.5, 0.4, M.steel));
    return built(parts);
  }
  if (kind === 'hammer') {
    const len = rng.range(22, 32);
    parts.push(
      part([rect(0, 0, len / 2, 1.3)], M.wood, 2.2, {
        tex: TEX_LAYERS,
        texAmp: 0.1,
        texScale: 3,
        prof: flat(0, 0, Math.PI / 2),
      }),
    );
    parts.push(part([roundRect(len / 2 - 1.6, 0, 1.6, 5.5, 0.5)], M.steel, 2.4));
    return built(parts);
  }
  if (kind === 'keys') {
    const n = rng.int(1, 5);
    parts.push(part(annulus(0, 0, 1.5, 1.25), M.steel, 0.2, { prof: torus(0, 0, 1.37, 0.13) }));
    for (let i = 0; i < n; i++) {
      const a = rng.range(-1.2, 1.2) + (rng.chance(0.5) ? Math.PI : 0);
      const len = rng.range(4.5, 7);
      const teeth: number[] = [0, -0.9, 0, 0.9];
      for (let t = 2.3; t < len - 0.6; t += 0.45) teeth.push(t, 0.9 - rng.range(0, 0.35), t + 0.25, 0.6);
      teeth.push(len, 0.35, len, -0.5, 2.3, -0.5, 2.3, -0.9);
      const keyBody = place(poly(teeth), 1.3 * Math.cos(a), 1.3 * Math.sin(a), a);
      const mat = rng.chance(0.5) ? M.brass : M.steel;
      parts.push(part([keyBody], mat, 0.22));
      parts.push(
        part(
          [place(ellipse(1.2, 0, 1.3, 1.2), 1.3 * Math.cos(a), 1.3 * Math.sin(a), a)],
          rng.chance(0.5) ? M.abs : mat,
          0.3,
        ),
      );
    }
    return built(parts);
  }
  if (kind === 'coins') {
    const n = rng.int(2, 12);
    for (let i = 0; i < n; i++) {
      const r = rng.range(0.9, 1.4);
      parts.push(
        disc(
          rng.gauss() * 2.5,
          rng.gauss() * 2.5,
          r,
          rng.range(0.15, 0.25),
          rng.pick([M.brass, M.steel, M.zinc, M.copper]),
        ),
      );
    }
    return built(parts);
  }
  if (kind === 'umbrella') {
    const len = rng.range(22, 32);
    parts.push(cylinder(0, 0, 0, len, 0.45, M.steel));
    parts.push(
      part([blob(rng, 0, 0, len * 0.45, 2.6, 0, 0.1, 0.2)], M.polyethylene, 0.8, {
        tex: TEX_FOLDS,
        texAmp: 0.5,
        texScale: 4,
      }),
    );
    const ribs = rng.int(6, 8);
    for (let i = 0; i < ribs; i++) {
      const dy = rng.range(-1.8, 1.8);
      parts.push(part(stroke([-len * 0.4, dy * 0.3, len * 0.35, dy], 0.1), M.steel, 0.2));
    }
    parts.push(cylinder(-len / 2 - 3, 0, 0, 6, 1.2, M.abs, 0, true));
    return built(parts);
  }
  if (kind === 'tape') {
    parts.push(part(annulus(0, 0, 3.3, 1.2), M.abs, 3.6));
    parts.push(part(annulus(0, 0, 2.8, 1.6), M.steel, 1.6, { prof: torus(0, 0, 2.2, 0.6) }));
    parts.push(disc(0, 0, 0.6, 0.5, M.steel));
    return built(parts);
  }
  const n = rng.int(6, 25);
  for (let i = 0; i < n; i++)
    parts.push(
      ...screw(
        rng.gauss() * 2,
        rng.gauss() * 2,
        rng.range(0, 6.28),
        rng.range(1.5, 5),
        rng.range(0.12, 0.25),
      ),
    );
  return built(parts);
}

/**
 * A retail box as shipped inside a carton: printed board around a device, a moulded insert, a
 * manual and a coiled cable. Very common in express parcels, and a good place to hide things.
 */
export function boxedProduct(rng: Rng): Built {
  const inner = rng.chance(0.6) ? electronics(rng) : tools(rng);
  const hl = inner.hx + rng.range(1, 3);
  const hw = inner.hy + rng.range(1, 3);
  const h = inner.hz + rng.range(1, 4);
  const parts: Part[] = [...inner.parts];
  const outer = rect(0, 0, hl, hw);
  parts.push(part([outer], M.board, 0.08));
  parts.push(part([outer, reversed(rect(0, 0, hl - 0.15, hw - 0.15))], M.board, h));
  if (rng.chance(0.6))
    parts.push(part([rect(0, 0, hl - 0.3, hw - 0.3)], M.foam, h * 0.6, { tex: TEX_FBM, texAmp: 0.4 }));
  if (rng.chance(0.6))
    parts.push(part([rect(rng.range(-1, 1), rng.range(-1, 1), hl * 0.7, hw * 0.7)], M.paper, 0.3));
  if (rng.chance(0.5))
    parts.push(...looseCable(rng, rng.range(-hl, hl) * 0.4, rng.range(-hw, hw) * 0.4, 60, 0.5, 0.15));
  return built(parts);
}
