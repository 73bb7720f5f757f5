import type { Component } from '../../config/shared/lifecycle.js';
import { AlertRepo, OutboxRepo } from './alerts.js';
import { type Db, openDb } from './db.js';
import { ScanRepo } from './scans.js';

/** The local store: one SQLite file in the data directory, opened first and closed last. */
export class Store implements Component {
  readonly name = 'store';
  private db: Db | null = null;
  private repos: { scans: ScanRepo; alerts: AlertRepo; outbox: OutboxRepo } | null = null;

  constructor(private readonly dataDir: string) {}

  async start(): Promise<void> {
    this.db = openDb(this.dataDir);
    this.repos = {
      scans: new ScanRepo(this.db),
      alerts: new AlertRepo(this.db),
      outbox: new OutboxRepo(this.db),
    };
  }

  async stop(): Promise<void> {
    this.db?.close();
    this.db = null;
    this.repos = null;
  }

  private get r() {
    if (!this.repos) throw new Error('store used before start()');
    return this.repos;
  }

  get scans(): ScanRepo {
    return this.r.scans;
  }
  get alerts(): AlertRepo {
    return this.r.alerts;
  }
  get outbox(): OutboxRepo {
    return this.r.outbox;
  }

  /** Runs fn in one SQLite transaction: all of it is durable, or none. */
  tx<T>(fn: () => T): T {
    if (!this.db) throw new Error('store used before start()');
    return this.db.transaction(fn)();
  }
}
