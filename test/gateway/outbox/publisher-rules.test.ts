import { describe, expect, it } from 'vitest';
import type { LinkListener, LinkStatus } from '../../../adapters/mqtt/link.js';
import type { DeviceState } from '../../../config/shared/lifecycle.js';
import { type OutboxLink, OutboxPublisher } from '../../../gateway/outbox/publisher.js';
import { captureLogger, waitFor } from '../../adapters/mqtt/helpers.js';
import { MemoryOutbox } from './memory-outbox.js';

interface Pending {
  seq: number;
  ack(): void;
  fail(): void;
}

/** A link whose PUBACKs and failures the test hands out one by one. */
class ScriptedLink implements OutboxLink {
  readonly calls: Pending[] = [];
  private current: DeviceState = 'online';
  private readonly listeners = new Set<LinkListener>();

  state(): DeviceState {
    return this.current;
  }

  onState(listener: LinkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(_topic: string, payload: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const seq = JSON.parse(String(payload)).seq as number;
      this.calls.push({ seq, ack: resolve, fail: () => reject(new Error('lost')) });
    });
  }

  set(state: DeviceState): void {
    this.current = state;
    const status: LinkStatus = { state, reason: null, since: new Date().toISOString() };
    for (const l of this.listeners) l(status);
  }

  take(seq: number): Pending {
    const i = this.calls.findIndex((c) => c.seq === seq);
    const call = this.calls[i];
    if (!call) throw new Error(`row ${seq} not in flight`);
    this.calls.splice(i, 1);
    return call;
  }
}

function setup(rows: number, inflight = 4, extra: { retryMs?: number; stopGraceMs?: number } = {}) {
  const store = new MemoryOutbox();
  for (let seq = 1; seq <= rows; seq++) store.add('t', JSON.stringify({ seq }));
  const link = new ScriptedLink();
  const { log } = captureLogger('error');
  const publisher = new OutboxPublisher({
    store,
    link,
    inflight,
    log,
    pollMs: 50,
    retryMs: 30,
    stopGraceMs: 50,
    ...extra,
  });
  return { store, link, publisher };
}

const inFlight = (link: ScriptedLink) => link.calls.map((c) => c.seq);
const signal = new AbortController().signal;

describe('OutboxPublisher rules', () => {
  it('republishes only the row that failed, after the window settles, and keeps order', async () => {
    const { store, link, publisher } = setup(6);
    await publisher.start(signal);
    expect(inFlight(link)).toEqual([1, 2, 3, 4]);
    link.take(2).fail();
    link.take(1).ack();
    await waitFor(() => store.sent.has(1), 1000, 'row 1 sent');
    // Row 2 failed while 3 and 4 are in flight: nothing new goes out until they settle.
    await new Promise((r) => setTimeout(r, 80));
    expect(inFlight(link)).toEqual([3, 4]);
    link.take(3).ack();
    link.take(4).ack();
    await waitFor(() => inFlight(link).length === 3, 1000, 'rewind');
    expect(inFlight(link)).toEqual([2, 5, 6]);
    for (const seq of [2, 5, 6]) link.take(seq).ack();
    await waitFor(() => publisher.depth() === 0, 1000, 'drained');
    expect(store.markCalls).toEqual([1, 3, 4, 2, 5, 6]);
    await publisher.stop();
  });

  it('pauses while the link is offline and resumes from the first unsent row on reconnect', async () => {
    const { store, link, publisher } = setup(5, 2);
    link.set('offline');
    await publisher.start(signal);
    await new Promise((r) => setTimeout(r, 120));
    expect(inFlight(link)).toEqual([]);
    link.set('online');
    await waitFor(() => inFlight(link).length === 2, 1000, 'dispatch after online');
    link.set('offline');
    link.take(1).fail();
    link.take(2).fail();
    await new Promise((r) => setTimeout(r, 120));
    expect(inFlight(link)).toEqual([]);
    link.set('online');
    await waitFor(() => inFlight(link).length === 2, 1000, 'resume');
    expect(inFlight(link)).toEqual([1, 2]);
    expect(store.markCalls).toEqual([]);
    await publisher.stop();
  });

  it('keeps going when an onSent listener throws or markSent fails (a duplicate, never a loss)', async () => {
    const { store, link, publisher } = setup(2, 1);
    publisher.onSent(() => {
      throw new Error('listener bug');
    });
    const seen: number[] = [];
    publisher.onSent((row) => seen.push(row.seq));
    const markSent = store.markSent.bind(store);
    let failOnce = true;
    store.markSent = (seq, at) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('disk full');
      }
      markSent(seq, at);
    };
    await publisher.start(signal);
    link.take(1).ack(); // delivered, but not recorded
    await waitFor(() => inFlight(link).length === 1, 1000, 'row 1 again');
    expect(inFlight(link)).toEqual([1]);
    link.take(1).ack();
    await waitFor(() => inFlight(link).length === 1 && link.calls[0]?.seq === 2, 1000, 'row 2');
    link.take(2).ack();
    await waitFor(() => publisher.depth() === 0, 1000, 'drained');
    expect(seen).toEqual([1, 2]);
    await publisher.stop();
  });

  it('stop() waits a bounded time for PUBACKs and leaves unacknowledged rows unsent', async () => {
    const { store, link, publisher } = setup(3, 3, { stopGraceMs: 100 });
    await publisher.start(signal);
    link.take(1).ack();
    const t0 = Date.now();
    await publisher.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect([...store.sent.keys()]).toEqual([1]);
    expect(publisher.depth()).toBe(2);
    publisher.notify();
    await new Promise((r) => setTimeout(r, 80));
    expect(inFlight(link)).toEqual([2, 3]);
  });
});
