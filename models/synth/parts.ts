/**
 * Composite parts that clutter and threats share: cylinders lying or standing, hollow tubes, shells of
 * plastic housings, cables, screws. All sizes in cm, in the object's own frame.
 */
import { M, type Material } from './materials.js';
import type { Rng } from './random.js';
import {
  annulus,
  dome,
  ellipse,
  extent,
  type Part,
  part,
  rect,
  rod,
  roundRect,
  stroke,
  TEX_GRAIN,
  wanderPath,
} from './shapes.js';

/** An object before placement: its parts and its half-extents (x, y) and height (z), in cm. */
export interface Built {
  parts: Part[];
  hx: number;
  hy: number;
  hz: number;
}

/**
 * Finishes an object: measures its real extent from its contours and part heights, and re-centres
 * everything on the origin, so placement keeps it inside its container whatever the builder drew.
 */
export function built(parts: Part[]): Built {
  const [x0, y0, x1, y1] = extent(parts.flatMap((p) => p.contours));
  let z0 = Infinity;
  let z1 = -Infinity;
  for (const p of parts) {
    z0 = Math.min(z0, p.z - p.h / 2);
    z1 = Math.max(z1, p.z + p.h / 2);
  }
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const cz = (z0 + z1) / 2;
  for (const p of parts) {
    if (cx !== 0 || cy !== 0) {
      p.contours = p.contours.map((c) => {
        const out = new Float64Array(c.length);
        for (let i = 0; i < c.length; i += 2) {
          out[i] = c[i]! - cx;
          out[i + 1] = c[i + 1]! - cy;
        }
        return out;
      });
      p.prof = { ...p.prof, cx: p.prof.cx - cx, cy: p.prof.cy - cy };
    }
    p.z -= cz;
  }
  return { parts, hx: (x1 - x0) / 2, hy: (y1 - y0) / 2, hz: z1 - z0 };
}

/** A solid cylinder lying along `angle` through (cx, cy): thickest on its axis. */
export function cylinder(
  cx: number,
  cy: number,
  angle: number,
  len: number,
  r: number,
  mat: Material,
  z = 0,
  roundEnds = false,
): Part {
  const contour = roundEnds ? roundRect(cx, cy, len / 2, r, r * 0.9, angle) : rect(cx, cy, len / 2, r, angle);
  return part([contour], mat, 2 * r, { z, prof: rod(cx, cy, angle, r) });
}

/**
 * A hollow cylinder lying down (a bottle, a can, a pipe): the walls are seen edge-on along both sides,
 * so its outline is darker than its middle, as on real scans. Returned as rim strips plus faces.
 */
export function tube(
  cx: number,
  cy: number,
  angle: number,
  len: number,
  r: number,
  wall: number,
  mat: Material,
  z = 0,
): Part[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const rimW = Math.min(r * 0.5, Math.max(wall * 1.5, 0.12));
  // Chord through a wall of thickness w seen tangentially: ≈ 2·sqrt(2·r·w); averaged over the strip.
  const rimT = Math.min(2 * r, 1.6 * Math.sqrt(2 * r * wall));
  const off = r - rimW / 2;
  return [
    part([rect(cx - s * off, cy + c * off, len / 2, rimW / 2, angle)], mat, rimT, { z }),
    part([rect(cx + s * off, cy - c * off, len / 2, rimW / 2, angle)], mat, rimT, { z }),
    part([rect(cx, cy, len / 2, r - rimW, angle)], mat, 2 * wall, { z }),
  ];
}

/** A cylinder standing on its end: a disc of uniform thickness (its height) seen from above. */
export function disc(cx: number, cy: number, r: number, h: number, mat: Material, z = 0): Part {
  return part([ellipse(cx, cy, r, r)], mat, h, { z });
}

/** A standing hollow cylinder: ring wall (darker) around a thin base. */
export function cup(
  cx: number,
  cy: number,
  r: number,
  h: number,
  wall: number,
  mat: Material,
  z = 0,
): Part[] {
  return [
    part(annulus(cx, cy, r, r - wall * 2), mat, h, { z }),
    disc(cx, cy, r - wall * 2, wall * 2, mat, z),
  ];
}

/**
 * A closed box of sheet material (a plastic housing, a tin): top and bottom faces plus the four walls,
 * which are seen edge-on and draw the box's outline.
 */
export function shell(
  cx: number,
  cy: number,
  hl: number,
  hw: number,
  h: number,
  wall: number,
  mat: Material,
  angle = 0,
  z = 0,
  corner = 0,
): Part[] {
  const outer = roundRect(cx, cy, hl, hw, corner, angle);
  const inner = roundRect(cx, cy, hl - wall, hw - wall, Math.max(0, corner - wall), angle);
  const parts = [part([outer], mat, wall * 2, { z })];
  const rim = [outer, reversedOf(inner)];
  parts.push(part(rim, mat, h - 2 * wall, { z }));
  return parts;
}

function reversedOf(c: Float64Array): Float64Array {
  const n = c.length / 2;
  const out = new Float64Array(c.length);
  for (let i = 0; i < n; i++) {
    out[i * 2] = c[(n - 1 - i) * 2]!;
    out[i * 2 + 1] = c[(n - 1 - i) * 2 + 1]!;
  }
  return out;
}

/** A cable along a path: PVC sheath with a copper core, both thin strokes. */
export function cableAlong(path: readonly number[], radius: number, coreRadius: number, z = 0): Part[] {
  const parts: Part[] = [];
  // In runs of a few segments: where a coiled cable crosses itself the two runs add up (it is twice
  // as thick there), and the rasteriser's edge lists stay short.
  const run = 8;
  const n = path.length / 2;
  for (let i = 0; i < n - 1; i += run) {
    const piece = path.slice(i * 2, Math.min(n, i + run + 1) * 2);
    parts.push(part(stroke(piece, radius), M.pvc, radius * 1.6, { z }));
    if (coreRadius > 0) parts.push(part(stroke(piece, coreRadius), M.copper, coreRadius * 1.6, { z }));
  }
  return parts;
}

/** A random loose cable from (x, y). Coiled when curl is high. */
export function looseCable(
  rng: Rng,
  x: number,
  y: number,
  len: number,
  curl: number,
  radius: number,
): Part[] {
  const path = wanderPath(rng, x, y, len, Math.max(0.8, radius * 5), curl);
  return cableAlong(path, radius, radius * rng.range(0.3, 0.45));
}

/** A screw or rivet seen from above: a small metal disc with a rod. */
export function screw(
  cx: number,
  cy: number,
  angle: number,
  len: number,
  r: number,
  mat: Material = M.steel,
) {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [
    cylinder(cx + (c * len) / 2, cy + (s * len) / 2, angle, len, r, mat),
    disc(cx, cy, r * 2, r * 1.2, mat),
  ];
}

/** A printed circuit board with chips, capacitors and connectors; the PCB is mixed, the parts metal. */
export function circuitBoard(
  rng: Rng,
  cx: number,
  cy: number,
  hl: number,
  hw: number,
  angle = 0,
  z = 0,
): Part[] {
  const parts: Part[] = [part([rect(cx, cy, hl, hw, angle)], M.pcb, 0.16, { z })];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const at = (u: number, v: number): [number, number] => [cx + u * c - v * s, cy + u * s + v * c];
  const chips = rng.int(2, 6);
  for (let i = 0; i < chips; i++) {
    const cw = rng.range(0.4, Math.min(2.2, hl * 0.5));
    const ch = rng.range(0.4, Math.min(2.2, hw * 0.6));
    const [x, y] = at(rng.range(-hl + cw, hl - cw), rng.range(-hw + ch, hw - ch));
    parts.push(part([rect(x, y, cw, ch, angle)], M.silicon, 0.12, { z: z + 0.1 }));
    // Lead frames and bond wires: a faint metal content in every chip.
    parts.push(part([rect(x, y, cw * 0.7, ch * 0.7, angle)], M.copper, 0.03, { z: z + 0.1 }));
  }
  const caps = rng.int(0, 5);
  for (let i = 0; i < caps; i++) {
    const r = rng.range(0.2, 0.5);
    const [x, y] = at(rng.range(-hl + r, hl - r), rng.range(-hw + r, hw - r));
    parts.push(part(annulus(x, y, r, r * 0.7), M.aluminium, 1, { z: z + 0.5 }));
    parts.push(disc(x, y, r * 0.7, 0.6, M.cellCore, z + 0.5));
  }
  const conns = rng.int(0, 2);
  for (let i = 0; i < conns; i++) {
    const [x, y] = at(rng.pick([-hl + 0.6, hl - 0.6]), rng.range(-hw * 0.6, hw * 0.6));
    parts.push(...shell(x, y, 0.6, rng.range(0.5, 1.4), 0.7, 0.05, M.steel, angle, z + 0.4));
  }
  return parts;
}

/** A soft plastic bag (film) around a content outline: almost invisible except at its folds and seams. */
export function bagFilm(rng: Rng, outline: Float64Array, thickness = 0.06): Part {
  return part([outline], M.plasticFilm, thickness, {
    tex: TEX_GRAIN,
    texAmp: 0.6,
    texScale: rng.range(2, 5),
  });
}

/** A soft filled pouch (powder, cream, food): dome-shaped thickness with a grainy texture. */
export function pouch(
  rng: Rng,
  outline: Float64Array,
  cx: number,
  cy: number,
  a: number,
  b: number,
  angle: number,
  h: number,
  mat: Material,
  grain: number,
): Part {
  const prof = dome(cx, cy, a * 1.08, b * 1.08, angle);
  return part([outline], mat, h, { prof, tex: TEX_GRAIN, texAmp: grain, texScale: rng.range(6, 14) });
}
