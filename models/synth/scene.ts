/**
 * A parcel as a small 3D scene: objects made of parts, each object placed at a position in the tunnel
 * (x along the belt, y across it, z above it) with a rotation about the vertical axis. The top view
 * projects along z, the side view along y; both share the belt axis, so a dual-view scan's two images
 * have the same width, as on real L-shaped detector arrays.
 */
import type { Affine, Canvas } from './raster.js';
import type { Part } from './shapes.js';
import { type ThreatPixels, takeScratch } from './visibility.js';

export type ViewName = 'top' | 'side' | 'main';

export interface SceneObject {
  parts: Part[];
  /** Centre in the tunnel (cm): x along the belt from the image's left edge, y across, z above the belt. */
  x: number;
  y: number;
  z: number;
  /** Rotation about the vertical axis (rad), and a mirror of the object's own x axis. */
  yaw: number;
  mirror: boolean;
  /** Class index of a threat, or -1 for clutter and packaging. */
  cls: number;
}

/**
 * A view's fan beam. Detector channels sit at fixed angles from a point source, so along the channel
 * axis an object is magnified by (dist + ref) / (dist + depth), depth being its distance from the
 * source's side of the tunnel: things near the source look bigger. Along the belt there is no such
 * effect (that axis is time).
 */
export interface Fan {
  /** Source position along the channel axis (cm): y for the top view, z for the side view. */
  centre: number;
  /** Distance from the source to the near side of the tunnel (cm). */
  dist: number;
  /** Depth at which the magnification is 1 (cm). */
  ref: number;
}

/** How the tunnel maps onto the detector: pixels per cm, where the belt is in the side view, the fans. */
export interface Geometry {
  width: number;
  height: number;
  pxPerCm: number;
  /** Side-view row of the belt's surface (z = 0). */
  beltRow: number;
  /** Fan-beam magnification per view; absent for a parallel projection. */
  fan?: { top: Fan; side: Fan };
}

function magnification(f: Fan | undefined, depth: number): number {
  return f ? (f.dist + f.ref) / (f.dist + Math.max(0, depth)) : 1;
}

export function invert(m: Affine): Affine {
  const det = m.a * m.e - m.b * m.d;
  const id = 1 / det;
  const a = m.e * id;
  const b = -m.b * id;
  const d = -m.d * id;
  const e = m.a * id;
  return { a, b, c: -(a * m.c + b * m.f), d, e, f: -(d * m.c + e * m.f) };
}

/** p ↦ outer(inner(p)) */
export function compose(outer: Affine, inner: Affine): Affine {
  return {
    a: outer.a * inner.a + outer.b * inner.d,
    b: outer.a * inner.b + outer.b * inner.e,
    c: outer.a * inner.c + outer.b * inner.f + outer.c,
    d: outer.d * inner.a + outer.e * inner.d,
    e: outer.d * inner.b + outer.e * inner.e,
    f: outer.d * inner.c + outer.e * inner.f + outer.f,
  };
}

function objectToWorld(o: SceneObject): Affine {
  const c = Math.cos(o.yaw);
  const s = Math.sin(o.yaw);
  const m = o.mirror ? -1 : 1;
  return { a: c * m, b: -s, c: o.x, d: s * m, e: c, f: o.y };
}

/** The part's profile frame expressed in the object's frame: p_obj = R·p_prof + c. */
function profileToObject(p: Part): Affine {
  const { cx, cy, ux, uy } = p.prof;
  return { a: ux, b: -uy, c: cx, d: uy, e: ux, f: cy };
}

/** Draws one object into the canvas' current target for a view. */
export function drawObject(cv: Canvas, o: SceneObject, view: ViewName, g: Geometry): void {
  const toWorld = objectToWorld(o);
  const k = g.pxPerCm;
  const side = view === 'side';
  // Top view: source under the belt, depth = height z; side view: source beside the tunnel, depth = y.
  const fan = side ? g.fan?.side : g.fan?.top;
  const m = magnification(fan, side ? o.y : o.z);
  const c = fan?.centre ?? 0;
  const worldToImage: Affine = side
    ? { a: k, b: 0, c: 0, d: 0, e: k, f: 0 }
    : { a: k, b: 0, c: 0, d: 0, e: k * m, f: k * (1 - m) * c };
  const toImage = compose(worldToImage, toWorld);
  const imageToObject = invert(toImage);
  for (const p of o.parts) {
    if (p.only !== null && p.only === (side ? 'top' : 'side')) continue;
    const toProfile = compose(invert(profileToObject(p)), imageToObject);
    if (!side) {
      cv.fill(p, toImage, toProfile, false);
    } else {
      cv.fill(p, toImage, toProfile, true);
      const zc = c + (o.z + p.z - c) * m;
      cv.band(p, g.beltRow - zc * k, (p.h / 2) * k * m, k);
    }
  }
}

/**
 * Draws the scene's objects in order; threats go through the scratch buffers so each one's pixels are
 * known apart, to be judged for visibility once everything above and below them is drawn.
 */
export function drawScene(
  cv: Canvas,
  objects: readonly SceneObject[],
  view: ViewName,
  g: Geometry,
): ThreatPixels[] {
  const threats: ThreatPixels[] = [];
  for (const o of objects) {
    if (o.cls < 0) {
      cv.target = cv.main;
      drawObject(cv, o, view, g);
      continue;
    }
    cv.target = cv.scratch;
    drawObject(cv, o, view, g);
    cv.target = cv.main;
    const pixels = takeScratch(cv, o.cls);
    if (pixels) threats.push(pixels);
  }
  return threats;
}
