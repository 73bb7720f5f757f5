import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';

/** Small deterministic PRNG (mulberry32): the same seed writes the same parcels. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A parcel-like X-ray picture: a carton outline with overlapping items in the machines' pseudo-colours.
 * It stands in for the physics-based generator of the models issue; it exercises the whole pipeline,
 * not the detectors' accuracy.
 */
export async function renderParcel(rand: () => number, width = 1180, height = 640): Promise<Buffer> {
  const colours = ['#e8a04c', '#c77a2a', '#5fae5a', '#3f74c9', '#2b4f9e', '#d9b36c'];
  const shapes: string[] = [];
  const bx = 60 + rand() * 80;
  const by = 60 + rand() * 60;
  const bw = width - bx * 2;
  const bh = height - by * 2;
  shapes.push(
    `<rect x="${bx}" y="${by}" width="${bw}" height="${bh}" fill="#f1d9a8" fill-opacity="0.55" stroke="#b98b3c" stroke-width="6"/>`,
  );
  const n = 6 + Math.floor(rand() * 10);
  for (let i = 0; i < n; i++) {
    const w = 40 + rand() * 260;
    const h = 20 + rand() * 160;
    const x = bx + rand() * (bw - w);
    const y = by + rand() * (bh - h);
    const c = colours[Math.floor(rand() * colours.length)]!;
    const rot = (rand() * 180).toFixed(1);
    shapes.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" rx="${(rand() * 20).toFixed(1)}" fill="${c}" fill-opacity="${(0.35 + rand() * 0.5).toFixed(2)}" transform="rotate(${rot} ${(x + w / 2).toFixed(1)} ${(y + h / 2).toFixed(1)})"/>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f7f7f4"/>${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

export interface SimulatorOptions {
  folder: string;
  views: readonly string[];
  intervalMs: number;
  seed: number;
  log: Logger;
  /** Stop after this many parcels (default: run until stopped). */
  count?: number;
}

/**
 * The demo's X-ray machine: writes a parcel image (one per view) with a sidecar waybill into a hot
 * folder every interval, the way real machines export: write to a temporary name, then rename.
 */
export class XraySimulator implements Component {
  readonly name = 'xray-simulator';
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  private readonly rand: () => number;

  constructor(private readonly o: SimulatorOptions) {
    this.rand = prng(o.seed);
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.emit().catch((err) => this.o.log.error({ err }, 'simulator could not write a parcel'));
    }, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  async emit(): Promise<string> {
    if (this.o.count !== undefined && this.n >= this.o.count) {
      await this.stop();
      return '';
    }
    this.n += 1;
    const key = `parcel-${String(this.n).padStart(6, '0')}`;
    const waybill = `SIM${String(Math.floor(this.rand() * 1e10)).padStart(10, '0')}`;
    const single = this.o.views.length === 1;
    await writeFile(
      join(this.o.folder, `${key}.json`),
      JSON.stringify({ waybill, capturedAt: new Date().toISOString() }),
    );
    for (const view of this.o.views) {
      const name = single ? `${key}.jpg` : `${key}_${view}.jpg`;
      const tmp = join(this.o.folder, `.${name}.part`);
      await writeFile(tmp, await renderParcel(this.rand));
      await rename(tmp, join(this.o.folder, name));
    }
    return key;
  }
}
