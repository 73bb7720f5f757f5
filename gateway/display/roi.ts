/**
 * The region of interest of a captured X-ray display: where the scan image is, without the
 * machine's menus, clock and status bars. Configured as fractions of the picture so it survives a
 * change of analysis resolution; cut out of each frame by sharp, in libuv's pool, never in JS loops.
 */
import sharp from 'sharp';
import type { CameraConfig } from '../../config/schema.js';
import { PgError } from '../../config/shared/errors.js';

export type Roi = NonNullable<CameraConfig['display']['roi']>;

export interface PixelRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The ROI in pixels of a `width` × `height` picture: whole pixels, at least 1 × 1, inside it. */
export function roiRect(roi: Roi | undefined, width: number, height: number): PixelRect {
  if (!roi) return { left: 0, top: 0, width, height };
  const left = clamp(Math.round(roi.x * width), 0, width - 1);
  const top = clamp(Math.round(roi.y * height), 0, height - 1);
  const right = clamp(Math.round((roi.x + roi.width) * width), left + 1, width);
  const bottom = clamp(Math.round((roi.y + roi.height) * height), top + 1, height);
  return { left, top, width: right - left, height: bottom - top };
}

export function isWhole(rect: PixelRect, width: number, height: number): boolean {
  return rect.left === 0 && rect.top === 0 && rect.width === width && rect.height === height;
}

/**
 * The ROI of an rgb24 picture as a new rgb24 buffer (the picture itself when the ROI is all of it).
 * STREAM_CORRUPT when the buffer is not the size the frame claims: a reader bug or a torn frame,
 * either way nothing to screen.
 */
export async function cropRgb(
  picture: { data: Buffer; width: number; height: number },
  rect: PixelRect,
): Promise<Buffer> {
  const { data, width, height } = picture;
  if (data.length !== width * height * 3)
    throw new PgError('STREAM_CORRUPT', `frame of ${width}×${height} has ${data.length} bytes`);
  if (isWhole(rect, width, height)) return data;
  const out = await sharp(data, { raw: { width, height, channels: 3 } })
    .extract(rect)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (out.info.channels !== 3 || out.info.width !== rect.width || out.info.height !== rect.height)
    throw new PgError('STREAM_CORRUPT', 'region of interest could not be cut from the frame');
  return out.data;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
