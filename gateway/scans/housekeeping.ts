import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { Store } from '../store/store.js';
import { removeDir } from './files.js';

export interface HousekeepingOptions {
  store: Store;
  dataDir: string;
  doneDays: number;
  outboxSentDays: number;
  log: Logger;
  everyMs?: number;
  now?: () => number;
}

const DAY = 24 * 3600 * 1000;

/**
 * Keeps a gateway's disk from filling over years of service: screened originals under
 * scans/done/<date>/ older than doneDays are removed, and acknowledged outbox rows older than
 * outboxSentDays are pruned. The scan ledger itself is never pruned here; it is the screening proof.
 */
export class Housekeeper implements Component {
  readonly name = 'housekeeping';
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<null> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: HousekeepingOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.runOnce();
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.runOnce().then(() => (this.running = null));
    }, this.o.everyMs ?? 3600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async runOnce(): Promise<{ doneDirs: number; outboxRows: number }> {
    let doneDirs = 0;
    let outboxRows = 0;
    try {
      outboxRows = this.o.store.outbox.prune(this.now() - this.o.outboxSentDays * DAY);
      const root = join(this.o.dataDir, 'scans', 'done');
      const cutoff = new Date(this.now() - this.o.doneDays * DAY).toISOString().slice(0, 10);
      const days = await readdir(root).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      });
      // Folder names are UTC dates (YYYY-MM-DD), so string order is date order.
      for (const day of days.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d) && d < cutoff)) {
        await removeDir(join(root, day));
        doneDirs += 1;
      }
      if (doneDirs + outboxRows > 0)
        this.o.log.info({ doneDirs, outboxRows }, 'housekeeping removed expired data');
    } catch (err) {
      // Retried at the next run; screening does not depend on it.
      this.o.log.error({ err }, 'housekeeping failed');
    }
    return { doneDirs, outboxRows };
  }
}
