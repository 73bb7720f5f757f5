import type { OutboxRow, OutboxStore } from '../../../gateway/outbox/types.js';

/**
 * An in-memory OutboxStore with the SQLite store's contract (pending = unsent rows after a seq,
 * oldest first). It records when each row was marked sent so tests can check the publisher's claims.
 */
export class MemoryOutbox implements OutboxStore {
  readonly rows: OutboxRow[] = [];
  readonly sent = new Map<number, number>();
  /** Every markSent call, in order, including repeats. */
  readonly markCalls: number[] = [];
  private seq = 0;

  add(topic: string, payload: string, alertId: string | null = null): OutboxRow {
    this.seq += 1;
    const row: OutboxRow = {
      seq: this.seq,
      topic,
      payload,
      qos: 1,
      retain: false,
      alertId,
      createdAt: Date.now(),
    };
    this.rows.push(row);
    return row;
  }

  pending(afterSeq: number, limit: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    for (const row of this.rows) {
      if (out.length >= limit) break;
      if (row.seq > afterSeq && !this.sent.has(row.seq)) out.push(row);
    }
    return out;
  }

  markSent(seq: number, sentAt: number): void {
    this.markCalls.push(seq);
    if (!this.sent.has(seq)) this.sent.set(seq, sentAt);
  }

  depth(): number {
    return this.rows.length - this.sent.size;
  }
}
