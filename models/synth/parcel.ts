/**
 * Packing: a container (carton, mailer bag or envelope) on the belt, filled with clutter at random
 * positions, rotations and heights, with the scan's threats hidden among it. The scene decides the
 * image's width (the parcel's length on the belt plus the gaps before and after it).
 */
import { M } from './materials.js';
import { CLUTTER, CLUTTER_WEIGHTS, type ClutterKind } from './objects.js';
import type { Built } from './parts.js';
import type { Rng } from './random.js';
import type { Geometry, SceneObject } from './scene.js';
import {
  blob,
  flat,
  type Part,
  part,
  rect,
  roundRect,
  stroke,
  TEX_FBM,
  TEX_FOLDS,
  TEX_GRAIN,
  TEX_LAYERS,
} from './shapes.js';
import { CATEGORY, CLASSES, THREATS, type ThreatCategory } from './threats.js';

export type ContainerKind = 'carton' | 'bag' | 'envelope';

export interface ParcelOptions {
  height: number;
  /** Probability that the parcel carries at least one threat of each category. */
  threatRate: { prohibited: number; drug: number };
  /** Class indices threats may be drawn from. */
  classes: readonly number[];
}

export interface Scene {
  objects: SceneObject[];
  geometry: Geometry;
  container: ContainerKind;
}

/** The detector's nominal field: 64 cm of belt width over the channels at the reference scale. */
const TUNNEL_CM = 64;

interface Box3 {
  L: number;
  W: number;
  D: number;
  wall: number;
}

function carton(rng: Rng, b: Box3): Part[] {
  const { L, W, D, wall } = b;
  const parts: Part[] = [];
  const face = { tex: TEX_FBM, texAmp: 0.18, texScale: rng.range(1, 3) };
  // Bottom and top faces: one part of double thickness from above, two thin layers from the side.
  parts.push(part([rect(0, 0, L / 2, W / 2)], M.cardboard, 2 * wall, { only: 'top', ...face }));
  parts.push(part([rect(0, 0, L / 2, W / 2)], M.cardboard, wall, { z: -D / 2 + wall / 2, only: 'side' }));
  parts.push(part([rect(0, 0, L / 2, W / 2)], M.cardboard, wall, { z: D / 2 - wall / 2, only: 'side' }));
  // Top: two long flaps meeting in the middle over two short inner flaps (double layer at the ends).
  const flap = Math.min(W / 2, L / 2) * rng.range(0.6, 1);
  for (const e of [-1, 1])
    parts.push(
      part([rect(e * (L / 2 - flap / 2), 0, flap / 2, W / 2 - wall)], M.cardboard, wall, {
        z: D / 2 - 1.5 * wall,
      }),
    );
  // The walls are seen edge-on: narrow bands whose thickness is the carton's depth.
  for (const e of [-1, 1]) {
    parts.push(part([rect(0, e * (W / 2 - wall / 2), L / 2, wall / 2)], M.cardboard, D));
    parts.push(part([rect(e * (L / 2 - wall / 2), 0, wall / 2, W / 2 - wall)], M.cardboard, D));
  }
  if (rng.chance(0.6))
    parts.push(part([rect(0, 0, L / 2 + 2, rng.range(2.2, 3.6))], M.plasticFilm, 0.012, { z: D / 2 }));
  if (rng.chance(0.25)) {
    // Plastic strapping bands round the carton.
    const x = rng.range(-L / 4, L / 4);
    parts.push(part([rect(x, 0, 0.6, W / 2 + 0.5)], M.polyethylene, 0.3, { z: D / 2 }));
  }
  return parts;
}

function mailer(rng: Rng, b: Box3): Part[] {
  const woven = rng.chance(0.3);
  const outline = blob(rng, 0, 0, b.L / 2, b.W / 2, 0, 0.04, 0.8);
  const film = woven ? 0.12 : rng.range(0.03, 0.08);
  const mat = woven ? M.polyethylene : M.plasticFilm;
  const look = {
    tex: woven ? TEX_LAYERS : TEX_FOLDS,
    texAmp: woven ? 0.35 : 0.7,
    texScale: woven ? 6 : rng.range(1.5, 3),
    prof: flat(0, 0, rng.range(0, 3)),
  };
  // Two layers of film from above; from the side, one over the contents and one under them.
  const parts: Part[] = [
    part([outline], mat, 2 * film, { only: 'top', ...look }),
    part([outline], mat, film, { only: 'side', z: b.D / 2 - film }),
    part([outline], mat, film, { only: 'side', z: -b.D / 2 + film }),
  ];
  // Heat-sealed seams along the ends: a double layer of film, a faint line.
  parts.push(part([rect(-b.L / 2 + 1, 0, 0.6, b.W / 2 - 0.5)], M.polyethylene, 0.2));
  parts.push(part([rect(b.L / 2 - 1.5, 0, 1.2, b.W / 2 - 0.5)], M.polyethylene, 0.15));
  return parts;
}

function envelope(rng: Rng, b: Box3): Part[] {
  const parts: Part[] = [
    part([roundRect(0, 0, b.L / 2, b.W / 2, 0.4)], M.paper, 0.03, { tex: TEX_GRAIN, texAmp: 0.3 }),
  ];
  if (rng.chance(0.5))
    parts.push(
      part([rect(0, 0, b.L / 2 - 0.5, b.W / 2 - 0.5)], M.polyethylene, 0.3, {
        tex: TEX_GRAIN,
        texAmp: 0.9,
        texScale: 5,
      }),
    );
  parts.push(part([rect(b.L / 2 - 2.5, 0, 2.5, b.W / 2)], M.paper, 0.02));
  if (rng.chance(0.4))
    parts.push(part(stroke([-b.L / 2 + 3, -b.W / 2 + 2, -b.L / 2 + 3, b.W / 2 - 2], 0.4), M.paper, 0.1));
  return parts;
}

function pickClutter(rng: Rng, container: ContainerKind): ClutterKind {
  const kinds = Object.keys(CLUTTER_WEIGHTS) as ClutterKind[];
  const weights = kinds.map((k) => {
    const w = CLUTTER_WEIGHTS[k];
    if (container === 'bag') return k === 'clothes' ? w * 3 : k === 'books' || k === 'tools' ? w * 0.4 : w;
    if (container === 'envelope')
      return k === 'filler' || k === 'cosmetics' || k === 'electronics' ? w : w * 0.3;
    return w;
  });
  return rng.weighted(kinds, weights);
}

/** Extents of a built object in the parcel's frame after rotating by `yaw`. */
function extentsAt(b: Built, yaw: number): [number, number] {
  const c = Math.abs(Math.cos(yaw));
  const s = Math.abs(Math.sin(yaw));
  return [b.hx * c + b.hy * s, b.hx * s + b.hy * c];
}

function pickThreats(rng: Rng, category: ThreatCategory, o: ParcelOptions): number[] {
  const allowed = o.classes.filter((c) => {
    const name = CLASSES[c];
    return name !== undefined && CATEGORY[name] === category;
  });
  if (allowed.length === 0) return [];
  if (!rng.chance(category === 'drug' ? o.threatRate.drug : o.threatRate.prohibited)) return [];
  const n = rng.weighted([1, 2, 3], [16, 4, 1]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rng.pick(allowed));
  return out;
}

/** Builds a parcel scene for one scan. */
export function buildParcel(rng: Rng, o: ParcelOptions): Scene {
  const H = o.height;
  const pxPerCm = (H / TUNNEL_CM) * rng.range(0.85, 1.15);
  const tunnelW = H / pxPerCm;
  const minPx = Math.round((500 * H) / 640);
  const maxPx = Math.round((1400 * H) / 640);

  const threatCls = [...pickThreats(rng, 'prohibited', o), ...pickThreats(rng, 'drug', o)];
  const threats = threatCls.map((cls) => {
    const name = CLASSES[cls];
    if (name === undefined) throw new Error(`no threat class ${cls}`);
    return { cls, built: THREATS[name](rng) };
  });
  let needL = 0;
  let needW = 0;
  for (const t of threats) {
    needL = Math.max(needL, 2 * Math.max(t.built.hx, t.built.hy) + 3);
    needW = Math.max(needW, 2 * Math.min(t.built.hx, t.built.hy) + 3);
  }

  const container = rng.weighted<ContainerKind>(['carton', 'bag', 'envelope'], [6, 3, 1.3]);
  const maxW = tunnelW - 6;
  let L: number;
  let W: number;
  let D: number;
  if (container === 'carton') {
    L = rng.range(25, 95);
    W = rng.range(18, Math.min(50, maxW));
    D = rng.range(10, 42);
  } else if (container === 'bag') {
    L = rng.range(25, 75);
    W = rng.range(20, Math.min(46, maxW));
    D = rng.range(5, 22);
  } else {
    L = rng.range(24, 40);
    W = rng.range(17, 30);
    D = rng.range(1.5, 6);
  }
  if (W > L) [L, W] = [W, L];
  L = Math.max(L, needL);
  W = Math.min(Math.max(W, needW), maxW);
  const wall = container === 'carton' ? rng.range(0.3, 0.8) : 0.1;
  const bigTilt = rng.chance(0.12);
  const yaw = bigTilt ? rng.range(-0.5, 0.5) : rng.range(-0.06, 0.06);
  // Room before and after the parcel on the belt: the machine starts and stops the image on its edges.
  let lead = rng.range(3, 14);
  let trail = rng.range(3, 14);
  const projL = L * Math.abs(Math.cos(yaw)) + W * Math.abs(Math.sin(yaw));
  const projW = L * Math.abs(Math.sin(yaw)) + W * Math.abs(Math.cos(yaw));
  if (projW > tunnelW - 2) W = Math.max(10, W - (projW - tunnelW + 2));
  let widthPx = Math.round((projL + lead + trail) * pxPerCm);
  if (widthPx > maxPx) {
    L = Math.max(20, L - (widthPx - maxPx) / pxPerCm);
    widthPx = maxPx;
  }
  if (widthPx < minPx) {
    const extra = (minPx - widthPx) / pxPerCm;
    lead += extra * rng.range(0.2, 0.8);
    trail = minPx / pxPerCm - projL - lead;
    widthPx = minPx;
  }
  const cx = lead + (L * Math.abs(Math.cos(yaw)) + W * Math.abs(Math.sin(yaw))) / 2;
  const halfSpanY = (L * Math.abs(Math.sin(yaw)) + W * Math.abs(Math.cos(yaw))) / 2;
  const cy = rng.range(Math.min(halfSpanY + 1, tunnelW / 2), Math.max(tunnelW - halfSpanY - 1, tunnelW / 2));
  // Soft bags have rounded corners: keep contents off them.
  const soft = container !== 'carton';
  const inL = (L / 2 - wall - 0.4) * (soft ? 0.88 : 1);
  const inW = (W / 2 - wall - 0.4) * (soft ? 0.88 : 1);
  const items: Array<{ b: Built; cls: number }> = [];
  const area = 4 * inL * inW;
  const fill = container === 'envelope' ? rng.range(0.15, 0.7) : rng.range(0.6, 2.8);
  const fits = (b: Built) =>
    Math.min(b.hx, b.hy) <= Math.min(inL, inW) && Math.max(b.hx, b.hy) <= Math.max(inL, inW);
  for (let used = 0, tries = 0; used < fill * area && items.length < 36 && tries < 70; tries++) {
    // Only what fits in the box goes in it: a small carton gets small things, not a folded coat.
    const b = CLUTTER[pickClutter(rng, container)](rng);
    if (!fits(b)) continue;
    items.push({ b, cls: -1 });
    used += 3 * b.hx * b.hy;
  }
  // Threats go in among the clutter, not on top of it.
  for (const t of threats) items.push({ b: t.built, cls: t.cls });
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }

  // Packing: a coarse height map of the parcel's floor; each item rests on whatever lies under it.
  const CELL = 2;
  const nx = Math.max(1, Math.ceil((2 * inL) / CELL));
  const ny = Math.max(1, Math.ceil((2 * inW) / CELL));
  const floor = new Float32Array(nx * ny).fill(wall);
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  const placed: SceneObject[] = [];
  const put = (b: Built, cls: number, slack: number): void => {
    for (let attempt = 0; attempt < 8; attempt++) {
      // Later attempts lay the item along the parcel's long axis, as one would pack a long thing.
      const iy =
        attempt < 5 ? rng.range(0, Math.PI * 2) : rng.range(-0.2, 0.2) + (rng.chance(0.5) ? Math.PI : 0);
      const [ex, ey] = extentsAt(b, iy);
      const fx = inL - ex * slack;
      const fy = inW - ey * slack;
      if (fx < 0 || fy < 0) continue;
      const u = rng.range(-fx, fx);
      const v = rng.range(-fy, fy);
      const i0 = Math.max(0, Math.floor((u - ex + inL) / CELL));
      const i1 = Math.min(nx - 1, Math.floor((u + ex + inL) / CELL));
      const j0 = Math.max(0, Math.floor((v - ey + inW) / CELL));
      const j1 = Math.min(ny - 1, Math.floor((v + ey + inW) / CELL));
      let base = wall;
      for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) base = Math.max(base, floor[j * nx + i]!);
      // A carton's lid stops the pile: squeezed items end up overlapping, as soft goods do.
      if (!soft && base + b.hz > D - wall) base = Math.max(wall, D - wall - b.hz);
      // Soft items (clothes) settle into each other: count only part of their height.
      const top = base + b.hz * (b.hz > 4 && cls < 0 ? 0.75 : 1);
      for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) floor[j * nx + i] = top;
      placed.push({
        parts: b.parts,
        x: cx + c * u - s * v,
        y: cy + s * u + c * v,
        z: base + b.hz / 2,
        yaw: yaw + iy,
        mirror: rng.chance(0.5),
        cls,
      });
      return;
    }
  };
  for (const it of items) put(it.b, it.cls, it.cls >= 0 || !soft ? 1 : 0.85);
  // Bags and envelopes take the shape of what is in them.
  if (soft) {
    let top = 0;
    for (const h of floor) top = Math.max(top, h);
    D = Math.min(Math.max(D * 0.5, top + wall), 45);
  }
  const box: Box3 = { L, W, D, wall };
  const shell =
    container === 'carton' ? carton(rng, box) : container === 'bag' ? mailer(rng, box) : envelope(rng, box);
  const objects: SceneObject[] = [
    { parts: shell, x: cx, y: cy, z: D / 2, yaw, mirror: false, cls: -1 },
    ...placed,
  ];
  const fan = {
    top: { centre: tunnelW * rng.range(0.3, 0.7), dist: rng.range(100, 180), ref: 15 },
    side: { centre: rng.range(15, 35), dist: rng.range(150, 250), ref: tunnelW / 2 },
  };
  const geometry = { width: widthPx, height: H, pxPerCm, beltRow: H - Math.round(H * 0.035), fan };
  return { objects, geometry, container };
}

/** A plausible courier waybill number. */
export function waybill(rng: Rng): string {
  const prefix = rng.pick(['SF', 'YT', 'ZTO', 'STO', 'JT', 'YD', 'EMS']);
  let digits = '';
  for (let i = 0; i < 12; i++) digits += String(rng.int(0, 9));
  return prefix + digits;
}
