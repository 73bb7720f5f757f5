/** A message waiting in the durable outbox. Rows are written in the same transaction as the alert. */
export interface OutboxRow {
  seq: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  alertId: string | null;
  createdAt: number;
}

/** What the publisher needs from the store; the SQLite store implements it, tests use a fake. */
export interface OutboxStore {
  /** Unsent rows with seq > afterSeq, oldest first. */
  pending(afterSeq: number, limit: number): OutboxRow[];
  markSent(seq: number, sentAt: number): void;
  depth(): number;
}
