import type { Box } from '../../config/shared/types.js';

/**
 * Letterbox geometry, kept free of sharp so the worker threads (which map boxes back) never load it.
 *
 * The scale is kept per axis: the resized content is rounded to whole pixels, so its true scale differs
 * slightly between x and y (1180×640 → 640×347 is 0.5424 wide but 0.5422 high). Mapping back with one
 * shared scale would be off by up to half a model pixel, several source pixels on a large image.
 */
export interface LetterboxTransform {
  /** Model pixels per source pixel, horizontally and vertically. */
  scaleX: number;
  scaleY: number;
  /** Padding left of and above the resized content, in model pixels. */
  padX: number;
  padY: number;
}

export interface LetterboxGeometry extends LetterboxTransform {
  /** Size of the resized content inside the model input. */
  contentWidth: number;
  contentHeight: number;
}

/** Fit srcW×srcH into dstW×dstH keeping aspect, content centred (odd padding: the extra pixel goes right/bottom). */
export function letterboxGeometry(srcW: number, srcH: number, dstW: number, dstH: number): LetterboxGeometry {
  if (!(srcW > 0 && srcH > 0 && dstW > 0 && dstH > 0)) {
    throw new RangeError(`letterbox: sizes must be positive, got ${srcW}x${srcH} -> ${dstW}x${dstH}`);
  }
  const r = Math.min(dstW / srcW, dstH / srcH);
  const contentWidth = Math.min(dstW, Math.max(1, Math.round(srcW * r)));
  const contentHeight = Math.min(dstH, Math.max(1, Math.round(srcH * r)));
  return {
    contentWidth,
    contentHeight,
    scaleX: contentWidth / srcW,
    scaleY: contentHeight / srcH,
    padX: Math.floor((dstW - contentWidth) / 2),
    padY: Math.floor((dstH - contentHeight) / 2),
  };
}

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/** Model-input pixels → source pixels, clipped to the source image. */
export function unletterbox(box: Box, t: LetterboxTransform, srcW: number, srcH: number): Box {
  return [
    clamp((box[0] - t.padX) / t.scaleX, 0, srcW),
    clamp((box[1] - t.padY) / t.scaleY, 0, srcH),
    clamp((box[2] - t.padX) / t.scaleX, 0, srcW),
    clamp((box[3] - t.padY) / t.scaleY, 0, srcH),
  ];
}

/** Source pixels → model-input pixels (the forward map; used by tests and by anyone drawing on the input). */
export function toModelSpace(box: Box, t: LetterboxTransform): Box {
  return [
    box[0] * t.scaleX + t.padX,
    box[1] * t.scaleY + t.padY,
    box[2] * t.scaleX + t.padX,
    box[3] * t.scaleY + t.padY,
  ];
}
