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

const COLOURS: Record<string, string> = { prohibited: '#ff2d2d', drug: '#ff9f1a' };

const escapeXml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

function overlaySvg(v: EvidenceView, items: readonly Detection[], banner: string): Buffer {
  const stroke = Math.max(2, Math.round(Math.min(v.width, v.height) / 200));
  const font = Math.max(12, Math.round(v.height / 32));
  const shapes = items
    .filter((d) => d.view === v.view)
    .map((d) => {
      const [x1, y1, x2, y2] = d.box;
      const colour = COLOURS[d.category] ?? '#ff2d2d';
      const text = `${escapeXml(d.label)} ${(d.score * 100).toFixed(0)}%`;
      const ty = y1 > font + 4 ? y1 - 4 : y2 + font + 2;
      return (
        `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" ` +
        `fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
        `<text x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="${font}" font-weight="bold" ` +
        `fill="${colour}" stroke="#000" stroke-width="0.6">${text}</text>`
      );
    })
    .join('');
  const head = `<text x="6" y="${font + 4}" font-family="sans-serif" font-size="${font}" fill="#000">${escapeXml(banner)}</text>`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${v.width}" height="${v.height}">${head}${shapes}</svg>`,
  );
}

/**
 * The screener's picture: every view with its boxes and labels, views stacked top to bottom, as
 * one JPEG. Rendered from the RGB already decoded for inference, so the image is decoded once.
 */
export async function renderAnnotated(
  views: readonly EvidenceView[],
  items: readonly Detection[],
  quality: number,
): Promise<Buffer> {
  const layers = await Promise.all(
    views.map((v) =>
      sharp(v.rgb, { raw: { width: v.width, height: v.height, channels: 3 } })
        .composite([{ input: overlaySvg(v, items, `view: ${v.view}`), top: 0, left: 0 }])
        .raw()
        .toBuffer(),
    ),
  );
  if (views.length === 1) {
    const v = views[0]!;
    return sharp(layers[0]!, { raw: { width: v.width, height: v.height, channels: 3 } })
      .jpeg({ quality })
      .toBuffer();
  }
  const width = Math.max(...views.map((v) => v.width));
  const height = views.reduce((h, v) => h + v.height, 0);
  let top = 0;
  const composite = views.map((v, i) => {
    const layer = {
      input: layers[i]!,
      raw: { width: v.width, height: v.height, channels: 3 as const },
      top,
      left: 0,
    };
    top += v.height;
    return layer;
  });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composite)
    .jpeg({ quality })
    .toBuffer();
}

export async function writeEvidenceFile(dir: string, name: string, data: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}
