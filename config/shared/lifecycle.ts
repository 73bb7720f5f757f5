/**
 * Every long-lived part implements this. The composition root starts parts in order and stops them
 * in reverse, so a part may rely on everything started before it for its whole life.
 */
export interface Component {
  readonly name: string;
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export type DeviceState = 'online' | 'degraded' | 'offline';

export interface DeviceStatus {
  id: string;
  kind: 'xray' | 'camera' | 'broker' | 'model';
  state: DeviceState;
  reason: string | null;
  since: string;
  lastSeenAt: string | null;
}

/**
 * Starts components in order; on a failed start, stops the ones already started (in reverse) and
 * rethrows, so a half-started gateway never lingers.
 */
export class Lifecycle {
  private readonly started: Component[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly onError: (component: string, err: unknown) => void) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async startAll(components: readonly Component[]): Promise<void> {
    for (const c of components) {
      try {
        await c.start(this.abort.signal);
        this.started.push(c);
      } catch (err) {
        this.onError(c.name, err);
        await this.stopAll();
        throw err;
      }
    }
  }

  async stopAll(): Promise<void> {
    this.abort.abort();
    while (this.started.length > 0) {
      const c = this.started.pop()!;
      try {
        await c.stop();
      } catch (err) {
        // Keep stopping the rest: one part failing to stop must not leave the others running.
        this.onError(c.name, err);
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts: a part's pauses never hold up its stop(). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** Tells every listener; one that throws is reported through `onError` and the others still hear it. */
export function notifyAll<T>(
  listeners: Iterable<(value: T) => void>,
  value: () => T,
  onError: (err: unknown) => void,
): void {
  for (const listener of listeners) {
    try {
      listener(value());
    } catch (err) {
      onError(err);
    }
  }
}
