import { describe, expect, it } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import {
  type DecodedImage,
  letterbox,
  letterboxGeometry,
  toModelSpace,
  unletterbox,
} from '../../../models/preprocess/letterbox.js';

/** A grey source image with one filled rectangle [x1, y1, x2) × [y1, y2). */
function imageWithRect(width: number, height: number, rect: Box, rgb = [255, 0, 0]): DecodedImage {
  const data = Buffer.alloc(width * height * 3, 40);
  for (let y = rect[1]; y < rect[3]; y++) {
    for (let x = rect[0]; x < rect[2]; x++) data.set(rgb, (y * width + x) * 3);
  }
  return { data, width, height };
}

/** Bounding box of the pixels whose red channel is over 128 (the rectangle), in model pixels. */
function findRect(pixels: Uint8Array, width: number, height: number): Box {
  let x1 = width;
  let y1 = height;
  let x2 = 0;
  let y2 = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((pixels[(y * width + x) * 3] as number) > 128) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return [x1, y1, x2, y2];
}

const maxError = (a: Box, b: Box): number => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));

describe('letterboxGeometry', () => {
  it('fits a landscape source to the width and centres it vertically', () => {
    expect(letterboxGeometry(1280, 720, 640, 640)).toEqual({
      contentWidth: 640,
      contentHeight: 360,
      scaleX: 0.5,
      scaleY: 0.5,
      padX: 0,
      padY: 140,
    });
  });

  it('fits a portrait source to the height and centres it horizontally', () => {
    expect(letterboxGeometry(480, 960, 640, 640)).toMatchObject({
      contentWidth: 320,
      contentHeight: 640,
      padX: 160,
      padY: 0,
    });
  });

  it('keeps a per-axis scale when the content size is rounded', () => {
    const g = letterboxGeometry(1180, 640, 640, 640);
    expect(g).toMatchObject({ contentWidth: 640, contentHeight: 347, padX: 0, padY: 146 });
    expect(g.scaleY).toBeCloseTo(347 / 640, 12);
    expect(g.scaleX).toBeCloseTo(640 / 1180, 12);
  });

  it('upscales a source smaller than the input', () => {
    expect(letterboxGeometry(32, 16, 64, 64)).toMatchObject({
      contentWidth: 64,
      contentHeight: 32,
      padY: 16,
      scaleX: 2,
    });
  });

  it('rejects empty sizes', () => {
    expect(() => letterboxGeometry(0, 10, 64, 64)).toThrow(RangeError);
  });
});

describe('unletterbox', () => {
  const cases: Array<[string, number, number, number, number]> = [
    ['landscape 1180x640 -> 640', 1180, 640, 640, 640],
    ['portrait 640x1180 -> 640', 640, 1180, 640, 640],
    ['odd landscape 997x333 -> 640', 997, 333, 640, 640],
    ['odd portrait 333x997 -> 640', 333, 997, 640, 640],
    ['large 4096x1500 -> 640x384 input', 4096, 1500, 640, 384],
    ['small 50x30 upscaled -> 640', 50, 30, 640, 640],
  ];

  it.each(cases)('round-trips boxes exactly (%s)', (_name, sw, sh, dw, dh) => {
    const g = letterboxGeometry(sw, sh, dw, dh);
    const boxes: Box[] = [
      [0, 0, sw, sh],
      [sw * 0.1, sh * 0.2, sw * 0.35, sh * 0.9],
      [sw / 3, sh / 7, sw / 2, sh / 3],
      [sw - 1, sh - 1, sw, sh],
    ];
    for (const b of boxes) expect(maxError(unletterbox(toModelSpace(b, g), g, sw, sh), b)).toBeLessThan(0.5);
  });

  it.each(cases)('maps the edges of the content area to the image edges (%s)', (_name, sw, sh, dw, dh) => {
    const g = letterboxGeometry(sw, sh, dw, dh);
    const content: Box = [g.padX, g.padY, g.padX + g.contentWidth, g.padY + g.contentHeight];
    expect(maxError(unletterbox(content, g, sw, sh), [0, 0, sw, sh])).toBeLessThan(1e-9);
  });

  it('clips boxes that reach into the padding or beyond the input', () => {
    const g = letterboxGeometry(1280, 720, 640, 640);
    expect(unletterbox([-20, 100, 700, 600], g, 1280, 720)).toEqual([0, 0, 1280, 720]);
  });
});

describe('letterbox (sharp)', () => {
  it('places the content centred in pad grey, and a drawn box maps back to where it was (landscape)', async () => {
    // 1280x720 -> 640x360 at scale 0.5, so even source edges land exactly on model pixels.
    const rect: Box = [100, 200, 300, 500];
    const lb = await letterbox(imageWithRect(1280, 720, rect), 640, 640, 114);
    expect(lb.transform).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 140 });
    expect(lb.pixels.length).toBe(640 * 640 * 3);
    expect([...lb.pixels.subarray(0, 3)]).toEqual([114, 114, 114]); // top padding
    expect([...lb.pixels.subarray((639 * 640 + 639) * 3)]).toEqual([114, 114, 114]); // bottom padding
    expect(lb.pixels[(300 * 640 + 600) * 3]).toBe(40); // content background
    const found = findRect(lb.pixels, 640, 640);
    expect(found).toEqual([50, 240, 150, 390]);
    expect(maxError(unletterbox(found, lb.transform, 1280, 720), rect)).toBeLessThan(0.5);
  });

  it('does the same for a portrait source', async () => {
    // 480x960 -> 320x640 at scale 2/3: edges at multiples of 3 land exactly on model pixels.
    const rect: Box = [60, 399, 420, 819];
    const lb = await letterbox(imageWithRect(480, 960, rect, [230, 10, 10]), 640, 640, 0);
    expect(lb.transform).toEqual({ scaleX: 2 / 3, scaleY: 2 / 3, padX: 160, padY: 0 });
    expect([...lb.pixels.subarray(0, 3)]).toEqual([0, 0, 0]); // left padding in the configured grey
    const found = findRect(lb.pixels, 640, 640);
    expect(found).toEqual([200, 266, 440, 546]);
    expect(maxError(unletterbox(found, lb.transform, 480, 960), rect)).toBeLessThan(0.5);
  });

  it('keeps the channel order (RGB in, RGB out)', async () => {
    const lb = await letterbox(imageWithRect(200, 100, [0, 0, 200, 100], [10, 120, 230]), 100, 100, 114);
    expect([...lb.pixels.subarray((50 * 100 + 50) * 3, (50 * 100 + 50) * 3 + 3)]).toEqual([10, 120, 230]);
  });

  it('copies an image that is already the input size into a transferable buffer', async () => {
    const img = imageWithRect(64, 64, [0, 0, 8, 8]);
    const lb = await letterbox(img, 64, 64, 114);
    expect(lb.transform).toEqual({ scaleX: 1, scaleY: 1, padX: 0, padY: 0 });
    expect(Buffer.from(lb.pixels).equals(img.data)).toBe(true);
    expect(lb.pixels.buffer).not.toBe(img.data.buffer);
    expect(lb.pixels.byteOffset).toBe(0);
    expect(lb.pixels.buffer.byteLength).toBe(64 * 64 * 3);
  });

  it('rejects a buffer that does not match the declared size', async () => {
    await expect(
      letterbox({ data: Buffer.alloc(10), width: 4, height: 4 }, 64, 64, 114),
    ).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
    });
  });
});
