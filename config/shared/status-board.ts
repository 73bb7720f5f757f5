import { type DeviceState, notifyAll } from './lifecycle.js';
import type { Logger } from './log.js';

/**
 * The state, reason and catalogue code of one long-lived part (a stream, a recorder), with the time of
 * the last state change. Listeners hear changes only, never a repeat, and one that throws is logged
 * without stopping the others. Subclasses say what a snapshot holds besides these.
 */
export abstract class StatusBoard<Code extends string, Snapshot> {
  protected state: DeviceState = 'offline';
  protected reason: string | null;
  protected code: Code | null = null;
  protected since = new Date().toISOString();
  private readonly listeners = new Set<(s: Snapshot) => void>();

  constructor(
    protected readonly log: Logger,
    private readonly what: string,
    initialReason = 'not started',
  ) {
    this.reason = initialReason;
  }

  abstract snapshot(): Snapshot;

  get current(): DeviceState {
    return this.state;
  }

  get currentCode(): Code | null {
    return this.code;
  }

  subscribe(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Returns whether anything changed (and listeners were told). */
  set(state: DeviceState, reason: string | null = null, code: Code | null = null): boolean {
    if (state === this.state && reason === this.reason && code === this.code) return false;
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
    this.reason = reason;
    this.code = code;
    const snap = this.snapshot();
    notifyAll(
      this.listeners,
      () => ({ ...snap }),
      (err) => this.log.error({ err }, `${this.what} status listener threw`),
    );
    return true;
  }
}
