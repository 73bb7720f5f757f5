/**
 * Geometry of the parts objects are made of. A part is a footprint (one or more closed contours in the
 * object's own frame, in cm, non-zero winding so unions and holes both work), a thickness along the
 * viewing axis with a profile across the footprint (a cylinder is thicker on its axis than at its edge,
 * which is what makes bottles and cells look round on a real scan), a material and a height in the
 * parcel for the side view.
 */
import type { Material } from './materials.js';
import { Rng } from './random.js';

/** Thickness profiles across a footprint (top view) and along the height (side view). */
export const FLAT = 0; // slabs, sheets, stacks: same thickness everywhere
export const ROD = 1; // a cylinder lying along the frame's u axis: 2·sqrt(r² - v²)
export const DOME = 2; // an ellipsoid, a soft bag, a pill: sqrt(1 - u²/a² - v²/b²)
export const RING = 3; // a torus: a ring handle, a trigger guard, a roll of tape

/** The frame a profile is measured in: origin, unit u axis, and the profile's two half-sizes. */
export interface Profile {
  kind: number;
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  /** ROD: radius; DOME: half-length along u; RING: centre-line radius. */
  a: number;
  /** DOME: half-width along v; RING: half-width of the ring's tube. */
  b: number;
}

export interface Part {
  /** Closed contours as x,y pairs in the object's frame (cm). */
  contours: Float64Array[];
  mat: Material;
  /** Thickness at the profile's peak (cm); also the part's vertical extent in the side view. */
  h: number;
  /** Height of the part's centre above the object's centre (cm), for the side view. */
  z: number;
  prof: Profile;
  /** Texture id (see TEXTURES) or -1, its strength and its scale in texture pixels per cm. */
  tex: number;
  texAmp: number;
  texScale: number;
  /** Views the part is drawn in: both (default), or one when the other view has its own stand-in. */
  only: 'top' | 'side' | null;
}

export interface PartOptions {
  only?: 'top' | 'side';
  z?: number;
  prof?: Profile;
  tex?: number;
  texAmp?: number;
  texScale?: number;
}

export function part(contours: Float64Array[], mat: Material, h: number, o: PartOptions = {}): Part {
  return {
    contours,
    mat,
    h,
    z: o.z ?? 0,
    prof: o.prof ?? flat(),
    tex: o.tex ?? -1,
    texAmp: o.texAmp ?? 0,
    texScale: o.texScale ?? 4,
    only: o.only ?? null,
  };
}

export function flat(cx = 0, cy = 0, angle = 0): Profile {
  return { kind: FLAT, cx, cy, ux: Math.cos(angle), uy: Math.sin(angle), a: 1, b: 1 };
}

/** A cylinder of radius r whose axis runs through (cx, cy) at `angle`. */
export function rod(cx: number, cy: number, angle: number, r: number): Profile {
  return { kind: ROD, cx, cy, ux: Math.cos(angle), uy: Math.sin(angle), a: r, b: r };
}

export function dome(cx: number, cy: number, a: number, b: number, angle = 0): Profile {
  return { kind: DOME, cx, cy, ux: Math.cos(angle), uy: Math.sin(angle), a, b };
}

export function torus(cx: number, cy: number, rc: number, hw: number): Profile {
  return { kind: RING, cx, cy, ux: 1, uy: 0, a: rc, b: hw };
}

// ---- contours -------------------------------------------------------------------------------------

/** A rectangle centred at (cx, cy), half-length hl along `angle`, half-width hw across it. */
export function rect(cx: number, cy: number, hl: number, hw: number, angle = 0): Float64Array {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float64Array(8);
  const corners = [-1, -1, 1, -1, 1, 1, -1, 1];
  for (let i = 0; i < 4; i++) {
    const u = corners[i * 2]! * hl;
    const v = corners[i * 2 + 1]! * hw;
    out[i * 2] = cx + u * c - v * s;
    out[i * 2 + 1] = cy + u * s + v * c;
  }
  return out;
}

/** A rectangle with rounded corners of radius r. */
export function roundRect(
  cx: number,
  cy: number,
  hl: number,
  hw: number,
  r: number,
  angle = 0,
  segs = 4,
): Float64Array {
  const rr = Math.max(0, Math.min(r, hl, hw));
  if (rr <= 0.01) return rect(cx, cy, hl, hw, angle);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float64Array(4 * (segs + 1) * 2);
  const centres = [hl - rr, hw - rr, -(hl - rr), hw - rr, -(hl - rr), -(hw - rr), hl - rr, -(hw - rr)];
  let k = 0;
  for (let q = 0; q < 4; q++) {
    const ox = centres[q * 2]!;
    const oy = centres[q * 2 + 1]!;
    for (let i = 0; i <= segs; i++) {
      const t = ((q + i / segs) * Math.PI) / 2;
      const u = ox + rr * Math.cos(t);
      const v = oy + rr * Math.sin(t);
      out[k++] = cx + u * c - v * s;
      out[k++] = cy + u * s + v * c;
    }
  }
  return out;
}

/** An ellipse; n vertices (more for bigger shapes so the outline stays round at 10 px/cm). */
export function ellipse(cx: number, cy: number, a: number, b: number, angle = 0, n = 0): Float64Array {
  const count = n > 0 ? n : Math.max(10, Math.min(64, Math.round(Math.max(a, b) * 5)));
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    const t = (i / count) * Math.PI * 2;
    const u = a * Math.cos(t);
    const v = b * Math.sin(t);
    out[i * 2] = cx + u * c - v * s;
    out[i * 2 + 1] = cy + u * s + v * c;
  }
  return out;
}

/** The same contour traversed backwards: a hole under the non-zero rule. */
export function reversed(contour: Float64Array): Float64Array {
  const n = contour.length / 2;
  const out = new Float64Array(contour.length);
  for (let i = 0; i < n; i++) {
    out[i * 2] = contour[(n - 1 - i) * 2]!;
    out[i * 2 + 1] = contour[(n - 1 - i) * 2 + 1]!;
  }
  return out;
}

/** An annulus as two contours (outer, reversed inner). */
export function annulus(cx: number, cy: number, rOut: number, rIn: number, bOut = rOut, bIn = rIn) {
  return [ellipse(cx, cy, rOut, bOut), reversed(ellipse(cx, cy, rIn, bIn))];
}

/** A soft outline: an ellipse or rounded box whose radius wobbles (bags, clothes, powder). */
export function blob(
  rng: Rng,
  cx: number,
  cy: number,
  a: number,
  b: number,
  angle: number,
  wobble: number,
  squareness = 0,
): Float64Array {
  const n = Math.max(16, Math.min(72, Math.round(Math.max(a, b) * 3)));
  const k1 = rng.range(0, Math.PI * 2);
  const k2 = rng.range(0, Math.PI * 2);
  const k3 = rng.range(0, Math.PI * 2);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float64Array(n * 2);
  // A superellipse exponent between 2 (ellipse) and ~6 (rounded box) gives bags their corners.
  const p = 2 / (2 + squareness * 4);
  for (let i = 0; i < n; i++) {
    const t = (i / n) * Math.PI * 2;
    const ct = Math.cos(t);
    const st = Math.sin(t);
    const w =
      1 + wobble * (0.5 * Math.sin(2 * t + k1) + 0.3 * Math.sin(3 * t + k2) + 0.2 * Math.sin(5 * t + k3));
    const u = a * w * Math.sign(ct) * Math.abs(ct) ** p;
    const v = b * w * Math.sign(st) * Math.abs(st) ** p;
    out[i * 2] = cx + u * c - v * s;
    out[i * 2 + 1] = cy + u * s + v * c;
  }
  return out;
}

/** A polygon from a flat list of x,y pairs, optionally mirrored across the x axis. */
export function poly(points: readonly number[], mirrorY = false): Float64Array {
  const out = Float64Array.from(points);
  if (mirrorY) for (let i = 1; i < out.length; i += 2) out[i] = -out[i]!;
  return mirrorY ? reversed(out) : out;
}

/** Moves, rotates and scales a contour: p' = (cx, cy) + R(angle)·(sx·x, sy·y). */
export function place(
  contour: Float64Array,
  cx: number,
  cy: number,
  angle: number,
  sx = 1,
  sy = sx,
): Float64Array {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float64Array(contour.length);
  for (let i = 0; i < contour.length; i += 2) {
    const x = contour[i]! * sx;
    const y = contour[i + 1]! * sy;
    out[i] = cx + x * c - y * s;
    out[i + 1] = cy + x * s + y * c;
  }
  // A mirror (one negative scale) flips the winding; reverse it back so it still fills.
  return sx * sy < 0 ? reversed(out) : out;
}

/**
 * A thick polyline (a cable, a wire, a zip) as quads plus round joints. Under the non-zero rule the
 * overlaps count once, so a cable's bends do not show darker beads.
 */
export function stroke(points: readonly number[], halfWidth: number): Float64Array[] {
  const out: Float64Array[] = [];
  const n = points.length / 2;
  for (let i = 0; i + 1 < n; i++) {
    const x0 = points[i * 2]!;
    const y0 = points[i * 2 + 1]!;
    const x1 = points[i * 2 + 2]!;
    const y1 = points[i * 2 + 3]!;
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len < 1e-6) continue;
    const angle = Math.atan2(y1 - y0, x1 - x0);
    const quad = rect((x0 + x1) / 2, (y0 + y1) / 2, len / 2, halfWidth, angle);
    out.push(quad);
    if (i > 0) out.push(ellipse(x0, y0, halfWidth, halfWidth, 0, 8));
  }
  return out;
}

/** A smooth random path (a loose cable) of `len` cm starting near (x, y). */
export function wanderPath(
  rng: Rng,
  x: number,
  y: number,
  len: number,
  step: number,
  curl: number,
): number[] {
  const pts = [x, y];
  let a = rng.range(0, Math.PI * 2);
  let da = 0;
  let cx = x;
  let cy = y;
  for (let d = 0; d < len; d += step) {
    da = 0.7 * da + rng.range(-curl, curl);
    a += da;
    cx += Math.cos(a) * step;
    cy += Math.sin(a) * step;
    pts.push(cx, cy);
  }
  return pts;
}

/** Axis-aligned extent of a set of contours: [minX, minY, maxX, maxY]. */
export function extent(contours: readonly Float64Array[]): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const c of contours) {
    for (let i = 0; i < c.length; i += 2) {
      const x = c[i]!;
      const y = c[i + 1]!;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return [x0, y0, x1, y1];
}

// ---- textures -------------------------------------------------------------------------------------

export const TEX_SIZE = 256;
export const TEX_MASK = TEX_SIZE - 1;
/** Smooth clumps (food, cream, cardboard density). */
export const TEX_FBM = 0;
/** Ridges like the folds of cloth. */
export const TEX_FOLDS = 1;
/** Fine grain: powders, pills' bag contents, paper. */
export const TEX_GRAIN = 2;
/** Parallel lines: pages of a book, corrugation, layers of tape. */
export const TEX_LAYERS = 3;

function valueNoise(rng: Rng, cells: number): Float32Array {
  const grid = new Float32Array(cells * cells);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  const out = new Float32Array(TEX_SIZE * TEX_SIZE);
  const step = TEX_SIZE / cells;
  for (let y = 0; y < TEX_SIZE; y++) {
    const gy = y / step;
    const iy = Math.floor(gy);
    const fy = gy - iy;
    const sy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < TEX_SIZE; x++) {
      const gx = x / step;
      const ix = Math.floor(gx);
      const fx = gx - ix;
      const sx = fx * fx * (3 - 2 * fx);
      // Wrap the lattice so the texture tiles seamlessly when sampled with & TEX_MASK.
      const x0 = ix % cells;
      const x1 = (ix + 1) % cells;
      const y0 = iy % cells;
      const y1 = (iy + 1) % cells;
      const a = grid[y0 * cells + x0]!;
      const b = grid[y0 * cells + x1]!;
      const c = grid[y1 * cells + x0]!;
      const d = grid[y1 * cells + x1]!;
      out[y * TEX_SIZE + x] = a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
    }
  }
  return out;
}

function normalise(t: Float32Array): Float32Array {
  let mean = 0;
  for (let i = 0; i < t.length; i++) mean += t[i]!;
  mean /= t.length;
  let peak = 1e-6;
  for (let i = 0; i < t.length; i++) peak = Math.max(peak, Math.abs(t[i]! - mean));
  for (let i = 0; i < t.length; i++) t[i] = (t[i]! - mean) / peak;
  return t;
}

function buildTextures(): Float32Array[] {
  // A fixed seed: textures are part of the generator, the same for every scan and every run.
  const rng = new Rng(0x5eed7e);
  const n = TEX_SIZE * TEX_SIZE;
  const fbm = new Float32Array(n);
  const octaves = [4, 8, 16, 32].map((c) => valueNoise(rng, c));
  for (let i = 0; i < n; i++)
    fbm[i] = octaves[0]![i]! + 0.5 * octaves[1]![i]! + 0.25 * octaves[2]![i]! + 0.125 * octaves[3]![i]!;
  const folds = new Float32Array(n);
  const f1 = valueNoise(rng, 6);
  const f2 = valueNoise(rng, 12);
  const f3 = valueNoise(rng, 24);
  for (let i = 0; i < n; i++) {
    // Ridged noise: 1 - |n| peaks along the zero lines of n, which read as creases.
    folds[i] = 1 - Math.abs(f1[i]!) + 0.6 * (1 - Math.abs(f2[i]!)) + 0.25 * f3[i]!;
  }
  const grain = new Float32Array(n);
  const g1 = valueNoise(rng, 128);
  const g2 = valueNoise(rng, 64);
  for (let i = 0; i < n; i++) grain[i] = g1[i]! + 0.5 * g2[i]!;
  const layers = new Float32Array(n);
  const l1 = valueNoise(rng, 16);
  for (let y = 0; y < TEX_SIZE; y++) {
    for (let x = 0; x < TEX_SIZE; x++) {
      const i = y * TEX_SIZE + x;
      layers[i] = Math.sin((y + 3 * l1[i]!) * ((Math.PI * 2) / 8)) + 0.3 * l1[i]!;
    }
  }
  return [normalise(fbm), normalise(folds), normalise(grain), normalise(layers)];
}

export const TEXTURES: readonly Float32Array[] = buildTextures();
