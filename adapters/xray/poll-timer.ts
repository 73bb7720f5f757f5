import { type FSWatcher, watch } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../config/shared/log.js';

/**
 * The pause between polls, cut short by an fs.watch event on the folder. fs.watch is only a hint:
 * it misses events on network shares and under load, so correctness rests on polling; the hint just
 * lowers latency where it works. Wake-ups are spaced by at least a quarter of pollMs so a file being
 * written in many small chunks does not turn polling into a busy loop.
 */
export class PollTimer {
  private wakeUp: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private lastPollAt = 0;
  private watcher: FSWatcher | null = null;
  private cancelled = false;

  constructor(
    private readonly pollMs: number,
    private readonly log: Logger,
    private useHint: boolean,
  ) {}

  /** Marks the start of a poll (the reference for spacing wake-ups). */
  pollStarted(): void {
    this.lastPollAt = performance.now();
  }

  sleep(): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wakeUp = done;
    });
  }

  /** Starts watching `dir` for hints, if not already. */
  watch(dir: string): void {
    if (!this.useHint || this.watcher || this.cancelled) return;
    try {
      const w = watch(dir, { persistent: false }, () => this.wake());
      w.on('error', (err) => {
        this.log.debug({ err }, 'fs.watch hint failed; polling continues');
        w.close();
        if (this.watcher === w) this.watcher = null;
      });
      this.watcher = w;
    } catch (err) {
      this.log.debug({ err }, 'fs.watch unavailable; polling only');
      this.useHint = false;
    }
  }

  /** The folder went away: the old watch would be on a dead directory. */
  unwatch(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Ends any sleep now and every future one at once. */
  cancel(): void {
    this.cancelled = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.unwatch();
    this.wakeUp?.();
  }

  /** Re-arms after cancel() (a stopped watcher started again). */
  reset(): void {
    this.cancelled = false;
  }

  private wake(): void {
    const minGap = Math.max(10, this.pollMs / 4);
    const gap = performance.now() - this.lastPollAt;
    if (gap >= minGap) this.wakeUp?.();
    else if (!this.wakeTimer) {
      this.wakeTimer = setTimeout(() => {
        this.wakeTimer = null;
        this.wakeUp?.();
      }, minGap - gap);
    }
  }
}
