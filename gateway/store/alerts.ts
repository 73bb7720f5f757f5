import type { AlertNew } from '../../adapters/mqtt/topics.js';
import type { OutboxRow, OutboxStore } from '../outbox/types.js';
import type { Db } from './db.js';

export interface AlertRecord {
  seq: number;
  id: string;
  scanId: string;
  sourceId: string;
  category: string;
  severity: string;
  state: 'open' | 'closed';
  createdAt: number;
  message: AlertNew;
}

interface AlertRow {
  seq: number;
  id: string;
  scan_id: string;
  source_id: string;
  category: string;
  severity: string;
  state: 'open' | 'closed';
  created_at: number;
  message: string;
}

const toAlert = (r: AlertRow): AlertRecord => ({
  seq: r.seq,
  id: r.id,
  scanId: r.scan_id,
  sourceId: r.source_id,
  category: r.category,
  severity: r.severity,
  state: r.state,
  createdAt: r.created_at,
  message: JSON.parse(r.message) as AlertNew,
});

export interface AlertQuery {
  category?: string;
  source?: string;
  /** Only alerts with seq < before (cursor paging, newest first). */
  before?: number;
  limit: number;
}

export class AlertRepo {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        `INSERT INTO alerts (id, scan_id, source_id, category, severity, created_at, message)
         VALUES (@id, @scanId, @sourceId, @category, @severity, @createdAt, @message)`,
      ),
      get: db.prepare('SELECT * FROM alerts WHERE id = ?'),
      list: db.prepare(
        `SELECT * FROM alerts WHERE (@category IS NULL OR category = @category) AND (@source IS NULL OR source_id = @source)
           AND seq < @before ORDER BY seq DESC LIMIT @limit`,
      ),
      count: db.prepare('SELECT count(*) AS n FROM alerts'),
      setMessage: db.prepare('UPDATE alerts SET message = ? WHERE id = ?'),
    };
  }

  insert(msg: AlertNew, scanId: string, createdAt: number): void {
    this.q.insert.run({
      id: msg.id,
      scanId,
      sourceId: msg.source.id,
      category: msg.category,
      severity: msg.severity,
      createdAt,
      message: JSON.stringify(msg),
    });
  }

  get(id: string): AlertRecord | undefined {
    const r = this.q.get.get(id) as AlertRow | undefined;
    return r ? toAlert(r) : undefined;
  }

  list(query: AlertQuery): AlertRecord[] {
    return (
      this.q.list.all({
        category: query.category ?? null,
        source: query.source ?? null,
        before: query.before ?? Number.MAX_SAFE_INTEGER,
        limit: query.limit,
      }) as AlertRow[]
    ).map(toAlert);
  }

  count(): number {
    return (this.q.count.get() as { n: number }).n;
  }

  /** The stored alert as it stands after its updates (evidence clips, a better frame); in a transaction. */
  setMessage(id: string, msg: AlertNew): void {
    this.q.setMessage.run(JSON.stringify(msg), id);
  }
}

interface OutboxDbRow {
  seq: number;
  topic: string;
  payload: string;
  qos: number;
  retain: number;
  alert_id: string | null;
  created_at: number;
}

export class OutboxRepo implements OutboxStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        'INSERT INTO outbox (topic, payload, qos, retain, alert_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      pending: db.prepare('SELECT * FROM outbox WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
      markSent: db.prepare('UPDATE outbox SET sent_at = ? WHERE seq = ?'),
      depth: db.prepare('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'),
      prune: db.prepare('DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?'),
    };
  }

  /** Must be called inside the same transaction that writes what the message announces. */
  enqueue(
    m: { topic: string; payload: string; qos: 0 | 1; retain: boolean; alertId: string | null },
    at: number,
  ): void {
    this.q.insert.run(m.topic, m.payload, m.qos, m.retain ? 1 : 0, m.alertId, at);
  }

  pending(afterSeq: number, limit: number): OutboxRow[] {
    return (this.q.pending.all(afterSeq, limit) as OutboxDbRow[]).map((r) => ({
      seq: r.seq,
      topic: r.topic,
      payload: r.payload,
      qos: r.qos === 1 ? 1 : 0,
      retain: r.retain === 1,
      alertId: r.alert_id,
      createdAt: r.created_at,
    }));
  }

  markSent(seq: number, sentAt: number): void {
    this.q.markSent.run(sentAt, seq);
  }

  depth(): number {
    return (this.q.depth.get() as { n: number }).n;
  }

  /** Sent rows are kept a while for diagnosis, then pruned so the table stays small. */
  prune(olderThan: number): number {
    return this.q.prune.run(olderThan).changes;
  }
}
