import type { MqttLink } from '../../adapters/mqtt/link.js';
import { errorMessage } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { OutboxRow, OutboxStore } from './types.js';

/** What the publisher needs from the link; tests may wrap a real MqttLink to observe calls. */
export type OutboxLink = Pick<MqttLink, 'state' | 'publish' | 'onState'>;

export type SentListener = (row: OutboxRow, at: number) => void;

export interface OutboxPublisherOptions {
  store: OutboxStore;
  link: OutboxLink;
  /** Messages awaiting PUBACK at once (`mqtt.inflight`). */
  inflight: number;
  log: Logger;
  /** Safety-net poll in case a notify() is missed. */
  pollMs?: number;
  /** First delay before resending after a publish failed while the link stayed up; doubles to 30 s. */
  retryMs?: number;
  /** How long stop() waits for in-flight messages to be acknowledged. */
  stopGraceMs?: number;
  now?: () => number;
}

/**
 * Drains the outbox to the broker, in seq order, at least once.
 *
 * A row is marked sent only on its PUBACK. Within one process life a row is published again only
 * after its publish failed: after any failure the publisher lets the rest of the window settle, then
 * rewinds to the first unsent row. That relies on seq order being commit order (one SQLite writer).
 * A crash between PUBACK and markSent republishes the row next life; consumers dedupe by alert id.
 */
export class OutboxPublisher implements Component {
  readonly name = 'outbox-publisher';
  private readonly inflight = new Map<number, OutboxRow>();
  private readonly listeners = new Set<SentListener>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly window: number;
  /** Highest seq handed to the link since the last rewind. */
  private cursor = 0;
  private rewind = false;
  private retryAt = 0;
  private failures = 0;
  private running = false;
  private scheduled = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: OutboxPublisherOptions) {
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.window = Math.max(1, opts.inflight);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.running = true;
    this.unsubscribe = this.opts.link.onState((status) => {
      if (status.state !== 'offline') this.notify();
    });
    this.pollTimer = setInterval(() => this.pump(), this.opts.pollMs ?? 1000);
    signal.addEventListener('abort', () => this.halt(), { once: true });
    this.log.info({ depth: this.safeDepth(), inflight: this.window }, 'outbox publisher started');
    this.pump();
  }

  async stop(): Promise<void> {
    this.halt();
    if (this.inflight.size > 0) {
      const grace = this.opts.stopGraceMs ?? 2000;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, grace)),
      ]);
    }
    // Rows still unacknowledged stay unsent in the store and go out again next start.
    this.log.info(
      { depth: this.safeDepth(), unacknowledged: this.inflight.size },
      'outbox publisher stopped',
    );
  }

  /** Wakes the publisher; the alert engine calls it after committing an alert and its outbox row. */
  notify(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Unsent rows in the store (including those awaiting PUBACK). */
  depth(): number {
    return this.opts.store.depth();
  }

  /** Rows published and awaiting PUBACK now. */
  inFlight(): number {
    return this.inflight.size;
  }

  /** Called once per row when its PUBACK arrived and it was marked sent; returns the unsubscribe. */
  onSent(listener: SentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private halt(): void {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pollTimer = null;
    this.retryTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private pump(): void {
    if (!this.running || this.opts.link.state() === 'offline') return;
    if (this.rewind) {
      // Wait for the rest of the window: a row must never be in flight twice.
      if (this.inflight.size > 0) return;
      const wait = this.retryAt - this.now();
      if (wait > 0) {
        this.armRetry(wait);
        return;
      }
      this.rewind = false;
      this.cursor = 0;
      this.log.info({ depth: this.safeDepth() }, 'outbox resuming from the first unsent row');
    }
    while (this.running && this.inflight.size < this.window) {
      let rows: OutboxRow[];
      try {
        rows = this.opts.store.pending(this.cursor, this.window - this.inflight.size);
      } catch (err) {
        this.log.error({ code: 'STORE_FAILED', err: errorMessage(err) }, 'cannot read the outbox');
        this.armRetry(this.opts.retryMs ?? 1000);
        return;
      }
      const before = this.cursor;
      for (const row of rows) {
        this.cursor = Math.max(this.cursor, row.seq);
        if (!this.inflight.has(row.seq)) this.dispatch(row);
      }
      // Nothing new (or a store that ignores afterSeq): stop rather than spin.
      if (this.cursor === before) return;
    }
  }

  private dispatch(row: OutboxRow): void {
    this.inflight.set(row.seq, row);
    this.opts.link.publish(row.topic, row.payload, { qos: row.qos, retain: row.retain }).then(
      () => this.acked(row),
      (err: unknown) => this.failed(row, err),
    );
  }

  private acked(row: OutboxRow): void {
    const at = this.now();
    this.inflight.delete(row.seq);
    try {
      this.opts.store.markSent(row.seq, at);
    } catch (err) {
      // Delivered but not recorded: it goes out again after the rewind, a duplicate and not a loss.
      this.log.error(
        { code: 'STORE_FAILED', seq: row.seq, err: errorMessage(err) },
        'cannot mark outbox row sent',
      );
      this.failed(row, err);
      return;
    }
    this.failures = 0;
    for (const listener of this.listeners) {
      try {
        listener(row, at);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'outbox onSent listener failed');
      }
    }
    this.settled();
    this.pump();
  }

  private failed(row: OutboxRow, err: unknown): void {
    this.inflight.delete(row.seq);
    const linkUp = this.opts.link.state() !== 'offline';
    if (!this.rewind) {
      this.log.info(
        { seq: row.seq, err: errorMessage(err), linkUp },
        'outbox publish failed; will resend in order',
      );
    }
    this.rewind = true;
    if (linkUp) {
      // The link stayed up, so reconnecting will not wake us: retry on a growing timer instead.
      this.failures += 1;
      const base = this.opts.retryMs ?? 1000;
      this.retryAt = this.now() + Math.min(30_000, base * 2 ** Math.min(this.failures - 1, 5));
    } else {
      this.retryAt = 0;
    }
    this.settled();
    this.pump();
  }

  private settled(): void {
    if (this.inflight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private armRetry(ms: number): void {
    if (this.retryTimer || !this.running) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, ms);
  }

  private safeDepth(): number | null {
    try {
      return this.opts.store.depth();
    } catch (err) {
      this.log.error({ code: 'STORE_FAILED', err: errorMessage(err) }, 'cannot read the outbox depth');
      return null;
    }
  }
}
