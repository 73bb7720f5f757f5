import { type DeviceState, type DeviceStatus, notifyAll } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';

/**
 * One device's `online | degraded | offline` state. Offline wins over any problem; a problem (say,
 * the intake refusing scans) makes it degraded until cleared. Listeners hear every change, and a
 * listener that throws is logged and does not stop the others.
 */
export class DeviceStatusBoard {
  private current: DeviceStatus;
  private offlineReason: string | null;
  private readonly problems = new Map<string, string>();
  private readonly listeners = new Set<(s: DeviceStatus) => void>();

  constructor(
    id: string,
    private readonly log: Logger,
    initialOffline = 'not started',
  ) {
    this.offlineReason = initialOffline;
    this.current = {
      id,
      kind: 'xray',
      state: 'offline',
      reason: initialOffline,
      since: new Date().toISOString(),
      lastSeenAt: null,
    };
  }

  get(): DeviceStatus {
    return { ...this.current };
  }

  subscribe(listener: (s: DeviceStatus) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Null: reachable again. Returns true when the offline reason changed (for logging transitions once). */
  setOffline(reason: string | null): boolean {
    const changed = reason !== this.offlineReason;
    this.offlineReason = reason;
    this.refresh();
    return changed;
  }

  /** Records (or with null, clears) a named problem that degrades the device. */
  setProblem(key: string, reason: string | null): void {
    if (reason === null) this.problems.delete(key);
    else this.problems.set(key, reason);
    this.refresh();
  }

  /** The device delivered something just now. */
  seen(): void {
    this.current.lastSeenAt = new Date().toISOString();
  }

  private refresh(): void {
    let state: DeviceState = 'online';
    let reason: string | null = null;
    const problem = this.problems.values().next();
    if (this.offlineReason !== null) [state, reason] = ['offline', this.offlineReason];
    else if (!problem.done) [state, reason] = ['degraded', problem.value];
    if (state === this.current.state && reason === this.current.reason) return;
    this.current = { ...this.current, state, reason, since: new Date().toISOString() };
    notifyAll(
      this.listeners,
      () => this.get(),
      (err) => this.log.error({ err }, 'device status listener threw'),
    );
  }
}
