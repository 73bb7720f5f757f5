import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PgError } from '../../config/shared/errors.js';

export type Db = Database.Database;

/**
 * Schema migrations for the local store, applied in order and recorded in `user_version`.
 * Never edit a shipped step: add a new one.
 */
const SCHEMA: readonly string[] = [
  `CREATE TABLE scans (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     source_id TEXT NOT NULL,
     via TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('claiming','queued','done','rejected')),
     received_at INTEGER NOT NULL,
     captured_at TEXT,
     waybill TEXT,
     files TEXT NOT NULL,
     decision TEXT CHECK (decision IN ('CLEAR','ALARM','REJECTED')),
     detections TEXT,
     models TEXT,
     views TEXT,
     timings TEXT,
     alert_id TEXT,
     error_code TEXT,
     error_message TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     finished_at INTEGER,
     files_settled INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX scans_state ON scans(state, seq);
   CREATE INDEX scans_source_time ON scans(source_id, received_at);
   CREATE INDEX scans_waybill ON scans(waybill) WHERE waybill IS NOT NULL;
   CREATE INDEX scans_unsettled ON scans(files_settled) WHERE files_settled = 0;

   CREATE TABLE alerts (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     scan_id TEXT NOT NULL REFERENCES scans(id),
     source_id TEXT NOT NULL,
     category TEXT NOT NULL,
     severity TEXT NOT NULL,
     state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','closed')),
     created_at INTEGER NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX alerts_time ON alerts(created_at);

   CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     qos INTEGER NOT NULL,
     retain INTEGER NOT NULL,
     alert_id TEXT,
     created_at INTEGER NOT NULL,
     sent_at INTEGER
   );
   CREATE INDEX outbox_pending ON outbox(seq) WHERE sent_at IS NULL;`,
];

export function openDb(dataDir: string, file = 'parcelguard.db'): Db {
  mkdirSync(dataDir, { recursive: true });
  let db: Db;
  try {
    db = new Database(join(dataDir, file));
  } catch (err) {
    throw new PgError('STORE_FAILED', `cannot open ${file}`, { cause: err });
  }
  db.pragma('journal_mode = WAL');
  // FULL: a committed scan record or alert survives power loss, not only a process crash. The cost is
  // one fsync per transaction, which the benchmark measures.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA.length) {
    db.close();
    throw new PgError(
      'STORE_FAILED',
      `store schema v${version} is newer than this release (v${SCHEMA.length}); do not downgrade`,
    );
  }
  for (let v = version; v < SCHEMA.length; v++) {
    db.transaction(() => {
      db.exec(SCHEMA[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
