import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Detection } from '../../config/shared/types.js';

export interface EvidenceView {
  view: string;
  rgb: Buffer;
  width: number;
  height: number;
}

const COLOURS: Record<string, [number, number, number]> = { prohibited: [255, 45, 45], drug: [255, 159, 26] };
const hex = ([r, g, b]: [number, number, number]) =>
  `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;

const escapeXml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * Box outlines are written straight into the pixels: only the perimeter is touched, a few thousand
 * pixels per box. (A full-frame SVG overlay cost ~15 ms of CPU per alarm, mostly rasterising
 * transparent area; this costs well under one.)
 */
function drawBox(
  rgb: Buffer,
  width: number,
  height: number,
  box: Detection['box'],
  colour: [number, number, number],
  stroke: number,
): void {
  const x1 = Math.max(0, Math.min(width - 1, Math.round(box[0])));
  const y1 = Math.max(0, Math.min(height - 1, Math.round(box[1])));
  const x2 = Math.max(0, Math.min(width - 1, Math.round(box[2]) - 1));
  const y2 = Math.max(0, Math.min(height - 1, Math.round(box[3]) - 1));
  const paint = (x: number, y: number) => {
    const o = (y * width + x) * 3;
    rgb[o] = colour[0];
    rgb[o + 1] = colour[1];
    rgb[o + 2] = colour[2];
  };
  for (let s = 0; s < stroke; s++) {
    for (let x = x1; x <= x2; x++) {
      paint(x, Math.min(y2, y1 + s));
      paint(x, Math.max(y1, y2 - s));
    }
    for (let y = y1; y <= y2; y++) {
      paint(Math.min(x2, x1 + s), y);
      paint(Math.max(x1, x2 - s), y);
    }
  }
}

/** A label tag (text on a dark plate), rasterised by librsvg at its own small size, as RGBA. */
async function tag(text: string, colour: string, font: number): Promise<Tag> {
  const width = Math.ceil(text.length * font * 0.62) + 8;
  const height = font + 6;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#000" fill-opacity="0.65"/>` +
    `<text x="4" y="${font}" font-family="sans-serif" font-size="${font}" font-weight="bold" fill="${colour}">${escapeXml(text)}</text></svg>`;
  const { data, info } = await sharp(Buffer.from(svg))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgba: data, width: info.width, height: info.height };
}

interface Tag {
  rgba: Buffer;
  width: number;
  height: number;
}

/** Alpha-blends a small RGBA tag into the RGB canvas: touches only the tag's own pixels. */
function blend(canvas: Buffer, cw: number, ch: number, t: Tag, left: number, top: number): void {
  for (let y = 0; y < t.height; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= ch) continue;
    for (let x = 0; x < t.width; x++) {
      const cx = left + x;
      if (cx < 0 || cx >= cw) continue;
      const s = (y * t.width + x) * 4;
      const a = t.rgba[s + 3]! / 255;
      if (a === 0) continue;
      const d = (cy * cw + cx) * 3;
      for (let c = 0; c < 3; c++) canvas[d + c] = Math.round(t.rgba[s + c]! * a + canvas[d + c]! * (1 - a));
    }
  }
}

/** Views stacked top to bottom on a white canvas as wide as the widest. */
function stack(views: readonly EvidenceView[], width: number, height: number): Buffer {
  if (views.length === 1) return Buffer.from(views[0]!.rgb);
  const canvas = Buffer.alloc(width * height * 3, 255);
  let top = 0;
  for (const v of views) {
    for (let y = 0; y < v.height; y++)
      v.rgb.copy(canvas, (top + y) * width * 3, y * v.width * 3, (y + 1) * v.width * 3);
    top += v.height;
  }
  return canvas;
}

/**
 * The screener's picture: every view with its boxes and labels, views stacked top to bottom, as one
 * JPEG. Everything is drawn into one RGB canvas and encoded once: sharp's composite() converts the
 * whole frame (~3 ms per overlay) where only a few thousand pixels change. It draws on the RGB
 * already decoded for inference, so the image is decoded once.
 */
export async function renderAnnotated(
  views: readonly EvidenceView[],
  items: readonly Detection[],
  quality: number,
): Promise<Buffer> {
  const width = Math.max(...views.map((v) => v.width));
  const height = views.reduce((h, v) => h + v.height, 0);
  const canvas = stack(views, width, height);
  let top = 0;
  for (const v of views) {
    const stroke = Math.max(2, Math.round(Math.min(v.width, v.height) / 200));
    const font = Math.max(12, Math.round(v.height / 36));
    const mine = items.filter((d) => d.view === v.view);
    const colourOf = (d: Detection) => COLOURS[d.category] ?? COLOURS.prohibited!;
    const [heading, ...tags] = await Promise.all([
      tag(`view: ${v.view}`, '#ffffff', font),
      ...mine.map((d) => tag(`${d.label} ${(d.score * 100).toFixed(0)}%`, hex(colourOf(d)), font)),
    ]);
    blend(canvas, width, height, heading!, 0, top);
    mine.forEach((d, i) => {
      drawBox(
        canvas,
        width,
        height,
        [d.box[0], d.box[1] + top, d.box[2], d.box[3] + top],
        colourOf(d),
        stroke,
      );
      const t = tags[i]!;
      const x = Math.max(0, Math.min(v.width - t.width, Math.round(d.box[0])));
      const above = Math.round(d.box[1]) - t.height;
      const y = above >= 0 ? above : Math.min(v.height - t.height, Math.round(d.box[3]));
      blend(canvas, width, height, t, x, top + y);
    });
    top += v.height;
  }
  return sharp(canvas, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}

export async function writeEvidenceFile(dir: string, name: string, data: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}
