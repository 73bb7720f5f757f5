import type { Detection } from '../../config/shared/types.js';
import type { Db } from './db.js';

export type ScanState = 'claiming' | 'queued' | 'done' | 'rejected';
export type ScanDecision = 'CLEAR' | 'ALARM' | 'REJECTED';

/** Where each file of a scan is: `from` in the machine's folder, `to` in the processing area. */
export interface ScanFile {
  kind: 'image' | 'companion';
  view: string | null;
  originalName: string;
  from: string;
  to: string;
}

export interface ScanViewRecord {
  view: string;
  width: number;
  height: number;
  sha256: string;
  ext: string;
}

export interface ScanRecord {
  seq: number;
  id: string;
  sourceId: string;
  via: string;
  state: ScanState;
  receivedAt: number;
  capturedAt: string | null;
  waybill: string | null;
  files: ScanFile[];
  decision: ScanDecision | null;
  detections: Detection[] | null;
  models: Array<{ name: string; version: string }> | null;
  views: ScanViewRecord[] | null;
  timings: Record<string, number> | null;
  alertId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  finishedAt: number | null;
  filesSettled: boolean;
}

interface Row {
  seq: number;
  id: string;
  source_id: string;
  via: string;
  state: ScanState;
  received_at: number;
  captured_at: string | null;
  waybill: string | null;
  files: string;
  decision: ScanDecision | null;
  detections: string | null;
  models: string | null;
  views: string | null;
  timings: string | null;
  alert_id: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  finished_at: number | null;
  files_settled: number;
}

const json = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function toRecord(r: Row): ScanRecord {
  return {
    seq: r.seq,
    id: r.id,
    sourceId: r.source_id,
    via: r.via,
    state: r.state,
    receivedAt: r.received_at,
    capturedAt: r.captured_at,
    waybill: r.waybill,
    files: JSON.parse(r.files) as ScanFile[],
    decision: r.decision,
    detections: json<Detection[]>(r.detections),
    models: json(r.models),
    views: json(r.views),
    timings: json(r.timings),
    alertId: r.alert_id,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    attempts: r.attempts,
    finishedAt: r.finished_at,
    filesSettled: r.files_settled === 1,
  };
}

export interface ScanResult {
  decision: ScanDecision;
  detections: Detection[];
  models: Array<{ name: string; version: string }>;
  views: ScanViewRecord[];
  timings: Record<string, number>;
  alertId: string | null;
}

/** The scan ledger: the proof that every parcel was screened. */
export class ScanRepo {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        `INSERT INTO scans (id, source_id, via, state, received_at, captured_at, waybill, files)
         VALUES (@id, @sourceId, @via, 'claiming', @receivedAt, @capturedAt, @waybill, @files)`,
      ),
      setState: db.prepare('UPDATE scans SET state = ? WHERE id = ?'),
      get: db.prepare('SELECT * FROM scans WHERE id = ?'),
      byState: db.prepare('SELECT * FROM scans WHERE state = ? ORDER BY seq LIMIT ?'),
      oldestQueued: db.prepare(`SELECT * FROM scans WHERE state = 'queued' ORDER BY seq LIMIT ?`),
      countState: db.prepare('SELECT count(*) AS n FROM scans WHERE state = ?'),
      finish: db.prepare(
        `UPDATE scans SET state = 'done', decision = @decision, detections = @detections, models = @models,
           views = @views, timings = @timings, alert_id = @alertId, finished_at = @finishedAt WHERE id = @id`,
      ),
      reject: db.prepare(
        `UPDATE scans SET state = 'rejected', decision = 'REJECTED', error_code = ?, error_message = ?, finished_at = ?
         WHERE id = ?`,
      ),
      attempt: db.prepare('UPDATE scans SET attempts = attempts + 1 WHERE id = ? RETURNING attempts'),
      unsettled: db.prepare(
        `SELECT * FROM scans WHERE files_settled = 0 AND state IN ('done','rejected') ORDER BY seq LIMIT ?`,
      ),
      settle: db.prepare('UPDATE scans SET files_settled = 1 WHERE id = ?'),
      list: db.prepare(
        `SELECT * FROM scans WHERE (@source IS NULL OR source_id = @source) AND seq < @before ORDER BY seq DESC LIMIT @limit`,
      ),
      count: db.prepare('SELECT count(*) AS n FROM scans'),
      deleteClaim: db.prepare(`DELETE FROM scans WHERE id = ? AND state = 'claiming'`),
    };
  }

  insertClaiming(s: {
    id: string;
    sourceId: string;
    via: string;
    receivedAt: number;
    capturedAt: string | null;
    waybill: string | null;
    files: ScanFile[];
  }): void {
    this.q.insert.run({ ...s, files: JSON.stringify(s.files) });
  }

  /** Only an unfinished claim can be forgotten; a queued or finished scan is part of the ledger. */
  deleteClaim(id: string): void {
    this.q.deleteClaim.run(id);
  }

  markQueued(id: string): void {
    this.q.setState.run('queued', id);
  }

  get(id: string): ScanRecord | undefined {
    const r = this.q.get.get(id) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  inState(state: ScanState, limit = 10_000): ScanRecord[] {
    return (this.q.byState.all(state, limit) as Row[]).map(toRecord);
  }

  /** Arrival order: the scheduler screens the oldest waiting scans first. */
  oldestQueued(limit: number): ScanRecord[] {
    return (this.q.oldestQueued.all(limit) as Row[]).map(toRecord);
  }

  count(state?: ScanState): number {
    const row = (state ? this.q.countState.get(state) : this.q.count.get()) as { n: number };
    return row.n;
  }

  /** Called inside the alert engine's transaction. */
  finish(id: string, r: ScanResult, finishedAt: number): void {
    this.q.finish.run({
      id,
      decision: r.decision,
      detections: JSON.stringify(r.detections),
      models: JSON.stringify(r.models),
      views: JSON.stringify(r.views),
      timings: JSON.stringify(r.timings),
      alertId: r.alertId,
      finishedAt,
    });
  }

  reject(id: string, code: string, message: string, at: number): void {
    this.q.reject.run(code, message, at, id);
  }

  recordAttempt(id: string): number {
    return (this.q.attempt.get(id) as { attempts: number }).attempts;
  }

  unsettled(limit = 1000): ScanRecord[] {
    return (this.q.unsettled.all(limit) as Row[]).map(toRecord);
  }

  markSettled(id: string): void {
    this.q.settle.run(id);
  }

  list(opts: { source?: string; before?: number; limit: number }): ScanRecord[] {
    return (
      this.q.list.all({
        source: opts.source ?? null,
        before: opts.before ?? Number.MAX_SAFE_INTEGER,
        limit: opts.limit,
      }) as Row[]
    ).map(toRecord);
  }
}
