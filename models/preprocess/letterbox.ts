import sharp from 'sharp';
import { PgError } from '../../config/shared/errors.js';
import { type LetterboxTransform, letterboxGeometry } from './geometry.js';

export type { LetterboxTransform } from './geometry.js';
export { letterboxGeometry, toModelSpace, unletterbox } from './geometry.js';

/** A decoded image: raw RGB, row-major HWC, 3 bytes per pixel, no row padding. */
export interface DecodedImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface Letterboxed {
  /**
   * uint8 RGB HWC of exactly width×height×3 bytes in a plain ArrayBuffer of its own, so it can be
   * transferred to a worker thread (sharp's output buffers live in native memory and cannot be).
   */
  pixels: Uint8Array<ArrayBuffer>;
  width: number;
  height: number;
  transform: LetterboxTransform;
}

export function assertDecodedImage(image: DecodedImage): void {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new PgError('INFERENCE_FAILED', `image size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new PgError(
      'INFERENCE_FAILED',
      `image buffer is ${data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`,
    );
  }
}

function owned(src: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(new ArrayBuffer(src.length));
  copy.set(src);
  return copy;
}

/**
 * Letterboxes a decoded RGB image to the model input: resized keeping aspect, centred, padded with
 * `pad` grey, as YOLO models are trained. The resize runs in libvips on sharp's thread pool, never on
 * the event loop. Callers run it once per image and model input size and share the result.
 */
export async function letterbox(
  image: DecodedImage,
  width: number,
  height: number,
  pad: number,
): Promise<Letterboxed> {
  assertDecodedImage(image);
  const g = letterboxGeometry(image.width, image.height, width, height);
  const transform: LetterboxTransform = { scaleX: g.scaleX, scaleY: g.scaleY, padX: g.padX, padY: g.padY };
  if (image.width === width && image.height === height) {
    return { pixels: owned(image.data), width, height, transform };
  }
  const background = { r: pad, g: pad, b: pad };
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .resize(g.contentWidth, g.contentHeight, { fit: 'fill', kernel: 'linear' })
    .extend({
      left: g.padX,
      top: g.padY,
      right: width - g.contentWidth - g.padX,
      bottom: height - g.contentHeight - g.padY,
      background,
    })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    // A sharp upgrade changing this behaviour must fail loudly, not feed the model shifted pixels.
    throw new PgError(
      'INFERENCE_FAILED',
      `letterbox produced ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`,
    );
  }
  return { pixels: owned(data), width, height, transform };
}
