import { isPgError, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { Metrics } from '../metrics.js';
import type { Settler } from '../scans/settle.js';
import type { ScanRecord } from '../store/scans.js';
import type { Store } from '../store/store.js';
import { type ScreenOptions, screenScan } from './screen.js';

export interface SchedulerDeps {
  store: Store;
  engine: AlertEngine;
  settler: Settler;
  screen: ScreenOptions;
  metrics: Metrics;
  log: Logger;
  maxInFlight: number;
  /** Inference failures (not bad input) are retried this many times before the scan is rejected. */
  maxAttempts?: number;
}

/**
 * Feeds claimed scans to the detectors in arrival order, at most maxInFlight at a time. The queue
 * is the scans table itself: a scan waits on disk, never in memory, so a backlog of thousands costs
 * nothing and survives a restart. Bad input is rejected and quarantined; a failing detector is
 * retried, because the parcel still has to be screened.
 */
export class Scheduler implements Component {
  readonly name = 'pipeline';
  private readonly inFlight = new Map<string, Promise<void>>();
  private running = false;
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly retryAfter = new Map<string, number>();

  constructor(private readonly d: SchedulerDeps) {}

  async start(): Promise<void> {
    this.running = true;
    // Safety net: a wake-up lost to a race is picked up within a second.
    this.timer = setInterval(() => this.wake(), 1000);
    this.wake();
  }

  /** Finishes the scans in hand; waiting ones stay queued on disk for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  wake(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        this.pump();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  queueDepth(): number {
    return this.d.store.scans.count('queued');
  }

  private pump(): void {
    const free = this.d.maxInFlight - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    const candidates = this.d.store.scans.oldestQueued(this.d.maxInFlight * 2 + this.retryAfter.size);
    let started = 0;
    for (const scan of candidates) {
      if (started >= free) break;
      if (this.inFlight.has(scan.id)) continue;
      if ((this.retryAfter.get(scan.id) ?? 0) > now) continue;
      started += 1;
      const p = this.process(scan).finally(() => {
        this.inFlight.delete(scan.id);
        this.wake();
      });
      this.inFlight.set(scan.id, p);
    }
  }

  private async process(scan: ScanRecord): Promise<void> {
    const log = this.d.log;
    try {
      const screening = await screenScan(scan, this.d.screen);
      const { decision } = await this.d.engine.complete(scan, screening);
      this.retryAfter.delete(scan.id);
      this.d.metrics.scans.inc({ source: scan.sourceId, decision: decision.alarm ? 'ALARM' : 'CLEAR' });
      this.d.metrics.scanMs.observe(Date.now() - scan.receivedAt);
    } catch (err) {
      if (isPgError(err) && err.code.startsWith('IMAGE_')) {
        this.reject(scan, err);
      } else {
        const attempts = this.d.store.scans.recordAttempt(scan.id);
        if (attempts >= (this.d.maxAttempts ?? 3)) {
          this.reject(
            scan,
            isPgError(err) ? err : new PgError('INFERENCE_FAILED', String(err), { cause: err }),
          );
        } else {
          this.retryAfter.set(scan.id, Date.now() + 500 * 2 ** attempts);
          log.warn({ err, scanId: scan.id, attempts }, 'screening failed; will retry');
          return;
        }
      }
    }
    const done = this.d.store.scans.get(scan.id);
    if (done) await this.d.settler.settle(done);
  }

  private reject(scan: ScanRecord, err: PgError): void {
    this.retryAfter.delete(scan.id);
    this.d.store.scans.reject(scan.id, err.code, err.message, Date.now());
    this.d.metrics.scans.inc({ source: scan.sourceId, decision: 'REJECTED' });
    this.d.log.warn(
      { scanId: scan.id, code: `PG_${err.code}`, reason: err.message },
      'scan rejected; files quarantined',
    );
  }
}
