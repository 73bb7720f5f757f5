/**
 * Which of a threat's pixels a screener (or a detector) can actually see, and so its label box.
 *
 * A threat's own attenuation says little: 4 % less light is a clear step on an empty belt and nothing
 * at all under a pile of folded coats, where the clutter already stops most of the beam, and the
 * palette squeezes thin organics towards the white of air. So each candidate pixel is judged on the
 * picture itself: the display colour of the finished scene there against the colour it would have
 * without the threat (noise-free, through the scan's own palette and exposure). The box is the extent
 * of the pixels where the two differ by at least `MIN_COLOUR_STEP` in some channel; a threat with too
 * few such pixels is hidden and gets no box. Boxes drawn this way match what a human labeller draws
 * on the image, which is what real datasets (and the models' scorers) use.
 */
import { type Canvas, HIGH, LOW } from './raster.js';

/** Attenuation (μ·t) below which a threat pixel is not even a candidate: ~1 % of the light. */
export const CANDIDATE_ATTENUATION = 0.01;
/** Smallest change of a display channel (0–255) that counts as visible: a step a screener notices. */
export const MIN_COLOUR_STEP = 24;
/** A threat needs this many visible pixels, and this share of its candidates, to be labelled. */
export const MIN_VISIBLE_PIXELS = 40;
export const MIN_VISIBLE_SHARE = 0.15;

/** A threat's pixels as drawn into scratch, before the rest of the scene is known. */
export interface ThreatPixels {
  cls: number;
  idx: Int32Array;
  low: Float32Array;
  high: Float32Array;
}

/**
 * Moves what was drawn into scratch onto the main buffers and returns the threat's candidate pixels
 * (index and its own attenuation per channel), or null when it left none.
 */
export function takeScratch(cv: Canvas, cls: number): ThreatPixels | null {
  const W = cv.width;
  const idx: number[] = [];
  const low: number[] = [];
  const high: number[] = [];
  if (cv.dx1 >= cv.dx0 && cv.dy1 >= cv.dy0) {
    const sl = cv.scratch[LOW]!;
    const sh = cv.scratch[HIGH]!;
    const ml = cv.main[LOW]!;
    const mh = cv.main[HIGH]!;
    for (let y = cv.dy0; y <= cv.dy1; y++) {
      const off = y * W;
      for (let x = cv.dx0; x <= cv.dx1; x++) {
        const i = off + x;
        const h = sh[i]!;
        const l = sl[i]!;
        if (h === 0 && l === 0) continue;
        if (h >= CANDIDATE_ATTENUATION || l >= CANDIDATE_ATTENUATION) {
          idx.push(i);
          low.push(l);
          high.push(h);
        }
        ml[i] = ml[i]! + l;
        mh[i] = mh[i]! + h;
        sl[i] = 0;
        sh[i] = 0;
      }
    }
  }
  cv.dx0 = W;
  cv.dy0 = cv.height;
  cv.dx1 = -1;
  cv.dy1 = -1;
  if (idx.length === 0) return null;
  return { cls, idx: Int32Array.from(idx), low: Float32Array.from(low), high: Float32Array.from(high) };
}

/** Noise-free display colour (packed 0x00BBGGRR) for a pixel's low and high attenuation. */
export type ColourOf = (low: number, high: number) => number;

function channelStep(a: number, b: number): number {
  return Math.max(
    Math.abs((a & 0xff) - (b & 0xff)),
    Math.abs(((a >>> 8) & 0xff) - ((b >>> 8) & 0xff)),
    Math.abs(((a >>> 16) & 0xff) - ((b >>> 16) & 0xff)),
  );
}

/** The box of a threat's visible pixels in the finished scene, or null when it is hidden. */
export function visibleBox(
  cv: Canvas,
  t: ThreatPixels,
  colourOf: ColourOf,
): [number, number, number, number] | null {
  const W = cv.width;
  const ml = cv.main[LOW]!;
  const mh = cv.main[HIGH]!;
  let bx0 = W;
  let by0 = cv.height;
  let bx1 = -1;
  let by1 = -1;
  let visible = 0;
  for (let k = 0; k < t.idx.length; k++) {
    const i = t.idx[k]!;
    const l = ml[i]!;
    const h = mh[i]!;
    const without = colourOf(Math.max(0, l - t.low[k]!), Math.max(0, h - t.high[k]!));
    if (channelStep(colourOf(l, h), without) < MIN_COLOUR_STEP) continue;
    visible++;
    const x = i % W;
    const y = (i - x) / W;
    if (x < bx0) bx0 = x;
    if (x > bx1) bx1 = x;
    if (y < by0) by0 = y;
    if (y > by1) by1 = y;
  }
  if (visible < MIN_VISIBLE_PIXELS || visible < MIN_VISIBLE_SHARE * t.idx.length) return null;
  return [bx0, by0, bx1 + 1, by1 + 1];
}
