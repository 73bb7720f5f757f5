import { describe, expect, it } from 'vitest';
import { Canvas, HIGH, LOW } from '../../../models/synth/raster.js';
import { cleanStyle, displayColours } from '../../../models/synth/render.js';
import { takeScratch, visibleBox } from '../../../models/synth/visibility.js';

const W = 100;
const H = 60;
const style = cleanStyle();
const colourOf = displayColours(style);

/** Adds attenuation to a rectangle of the canvas' current target, as the rasteriser would. */
function paint(cv: Canvas, x0: number, y0: number, x1: number, y1: number, low: number, high: number): void {
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = y * W + x;
      cv.target[LOW]![i]! += low;
      cv.target[HIGH]![i]! += high;
    }
  if (cv.target === cv.scratch) {
    cv.dx0 = Math.min(cv.dx0, x0);
    cv.dy0 = Math.min(cv.dy0, y0);
    cv.dx1 = Math.max(cv.dx1, x1 - 1);
    cv.dy1 = Math.max(cv.dy1, y1 - 1);
  }
}

/** A steel-like threat (low 2.0, high 0.6 per pixel) over x 20–40, y 10–30. */
function threat(cv: Canvas) {
  cv.target = cv.scratch;
  paint(cv, 20, 10, 40, 30, 2.0, 0.6);
  cv.target = cv.main;
  const t = takeScratch(cv, 3);
  if (!t) throw new Error('threat left no pixels');
  return t;
}

describe('visible label boxes', () => {
  it('boxes a threat on an empty belt exactly, and merges it into the scene', () => {
    const cv = new Canvas();
    cv.reset(W, H);
    const t = threat(cv);
    expect(t.cls).toBe(3);
    expect(visibleBox(cv, t, colourOf)).toEqual([20, 10, 40, 30]);
    expect(cv.main[HIGH]![15 * W + 25]).toBeCloseTo(0.6, 5);
    expect(cv.scratch[HIGH]![15 * W + 25]).toBe(0);
  });

  it('gives no box to a threat buried under clutter that stops nearly all the beam', () => {
    const cv = new Canvas();
    cv.reset(W, H);
    paint(cv, 0, 0, W, H, 30, 25);
    const t = threat(cv);
    expect(visibleBox(cv, t, colourOf)).toBeNull();
  });

  it('boxes only the part that shows when clutter drawn later covers the rest', () => {
    const cv = new Canvas();
    cv.reset(W, H);
    const t = threat(cv);
    // Clutter drawn after the threat still hides it: the judgement waits for the finished scene.
    paint(cv, 30, 0, W, H, 30, 25);
    expect(visibleBox(cv, t, colourOf)).toEqual([20, 10, 30, 30]);
  });

  it('ignores a faint film that changes the picture by less than a visible step', () => {
    const cv = new Canvas();
    cv.reset(W, H);
    cv.target = cv.scratch;
    paint(cv, 20, 10, 40, 30, 0.02, 0.016);
    cv.target = cv.main;
    const t = takeScratch(cv, 0);
    expect(t).not.toBeNull();
    expect(visibleBox(cv, t!, colourOf)).toBeNull();
  });
});
