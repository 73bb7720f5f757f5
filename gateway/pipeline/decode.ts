import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { decodeBmp, type RawImage } from '../../adapters/xray/bmp.js';
import { PgError } from '../../config/shared/errors.js';
import type { ScanFile } from '../store/scans.js';

export interface DecodedView {
  view: string;
  path: string;
  ext: string;
  sha256: string;
  rgb: Buffer;
  width: number;
  height: number;
}

/**
 * Decodes one image exactly once, to RGB at source resolution: detectors letterbox from it and the
 * evidence renderer draws on it. `failOn: 'truncated'` turns a half-written JPEG into an error
 * rather than a grey-filled picture screened as if it were whole.
 */
export type BmpDecode = (file: Buffer, maxPixels: number) => Promise<RawImage>;

/** In-thread BMP decoding, for tests and tools; the gateway passes its worker-backed BmpDecoder. */
export const decodeBmpHere: BmpDecode = async (file, maxPixels) => decodeBmp(file, maxPixels);

export async function decodeView(
  file: ScanFile,
  maxPixels: number,
  bmpDecode: BmpDecode = decodeBmpHere,
): Promise<DecodedView> {
  const bytes = await readFile(file.to);
  if (bytes.length === 0) throw new PgError('IMAGE_EMPTY');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    // libvips as bundled with sharp has no BMP loader; many X-ray machines export BMP.
    const isBmp = bytes[0] === 0x42 && bytes[1] === 0x4d;
    const bmp = isBmp ? await bmpDecode(bytes, maxPixels) : null;
    const input = bmp
      ? sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } })
      : sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    const { data, info } = await input
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new PgError('IMAGE_UNSUPPORTED', `decoded to ${info.channels} channels`);
    return {
      view: file.view ?? 'main',
      path: file.to,
      ext: extname(file.to),
      sha256,
      rgb: data,
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    if (err instanceof PgError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(msg)) throw new PgError('IMAGE_TOO_LARGE', msg, { cause: err });
    if (/unsupported image format/i.test(msg)) throw new PgError('IMAGE_UNSUPPORTED', msg, { cause: err });
    throw new PgError('IMAGE_CORRUPT', msg, { cause: err });
  }
}
