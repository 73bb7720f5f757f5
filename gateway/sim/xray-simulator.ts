import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { encodeJpeg, generateScan } from '../../models/synth/index.js';

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
 * The demo's X-ray machine: every interval it writes one synthetic parcel from the generator (one
 * image per configured view, a dual-view machine gets top and side) with a sidecar waybill, the way
 * real machines export: sidecar first, each image under a temporary name, then renamed in place.
 */
export class XraySimulator implements Component {
  readonly name = 'xray-simulator';
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(private readonly o: SimulatorOptions) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.emit().catch((err) => this.o.log.error({ err }, 'simulator could not write a parcel'));
    }, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  async emit(): Promise<string | null> {
    if (this.o.count !== undefined && this.n >= this.o.count) {
      await this.stop();
      return null;
    }
    this.n += 1;
    const dual = this.o.views.length === 2;
    const scan = generateScan({ seed: this.o.seed * 1_000_003 + this.n, dualView: dual });
    const key = `parcel-${String(this.n).padStart(6, '0')}`;
    await writeFile(
      join(this.o.folder, `${key}.json`),
      JSON.stringify({ waybill: scan.waybill, capturedAt: new Date().toISOString() }),
    );
    for (const [i, v] of scan.views.entries()) {
      const view = dual ? this.o.views[i]! : null;
      const name = view ? `${key}_${view}.jpg` : `${key}.jpg`;
      const tmp = join(this.o.folder, `${name}.part`);
      await writeFile(tmp, await encodeJpeg(v));
      await rename(tmp, join(this.o.folder, name));
    }
    const threats = scan.views[0]?.boxes.map((b) => b.label) ?? [];
    this.o.log.info({ parcel: key, waybill: scan.waybill, threats }, 'simulated parcel scanned');
    return key;
  }
}
