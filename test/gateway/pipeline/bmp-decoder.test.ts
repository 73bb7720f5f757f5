import { afterAll, describe, expect, it } from 'vitest';
import { decodeBmp } from '../../../adapters/xray/bmp.js';
import { isPgError } from '../../../config/shared/errors.js';
import { BmpDecoder } from '../../../gateway/pipeline/bmp-decoder.js';
import { bmpFromRgb } from '../../support/site.js';

/** A gradient BMP, so pixel-order mistakes show. */
function bmp(w: number, h: number): Buffer {
  const rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) rgb.set([(x + y) % 256, y % 256, x % 256], (y * w + x) * 3);
  return bmpFromRgb(rgb, w, h);
}

describe('BMP decoding in a worker thread', () => {
  const decoder = new BmpDecoder();
  afterAll(() => decoder.stop());

  it('gives the same pixels as decoding in place, several at once', async () => {
    const files = [bmp(37, 21), bmp(64, 64), bmp(5, 300)];
    const results = await Promise.all(files.map((f) => decoder.decode(f, 1e7)));
    results.forEach((r, i) => {
      const here = decodeBmp(files[i]!, 1e7);
      expect([r.width, r.height]).toEqual([here.width, here.height]);
      expect(r.data.equals(here.data)).toBe(true);
    });
  });

  it('keeps the catalogue code of a refusal', async () => {
    const err = await decoder.decode(bmp(100, 100), 50).catch((e: unknown) => e);
    expect(isPgError(err, 'IMAGE_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toBe('image has more pixels than allowed: 100×100 BMP');
    const truncated = await decoder.decode(Buffer.from('BM'), 1e7).catch((e: unknown) => e);
    expect(isPgError(truncated, 'IMAGE_CORRUPT')).toBe(true);
  });
});
