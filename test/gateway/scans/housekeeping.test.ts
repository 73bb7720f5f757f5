import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Housekeeper } from '../../../gateway/scans/housekeeping.js';
import { Store } from '../../../gateway/store/store.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-house-'));
  store = new Store(dir);
  await store.start();
});
afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('removes done/ days and acknowledged outbox rows past retention, keeps the rest and everything unsent', async () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  const day = 24 * 3600 * 1000;
  for (const d of ['2026-11-10', '2026-11-14', '2026-11-15', '2026-11-22']) {
    mkdirSync(join(dir, 'scans', 'done', d, 'scan'), { recursive: true });
    writeFileSync(join(dir, 'scans', 'done', d, 'scan', 'main.jpg'), 'x');
  }
  mkdirSync(join(dir, 'scans', 'done', 'not-a-date'));
  const row = { topic: 't', payload: '{}', qos: 1 as const, retain: false, alertId: null };
  store.outbox.enqueue(row, now - 10 * day);
  store.outbox.enqueue(row, now - 10 * day);
  store.outbox.enqueue(row, now - day);
  const [old, unsent, recent] = store.outbox.pending(0, 10);
  store.outbox.markSent(old!.seq, now - 9 * day);
  store.outbox.markSent(recent!.seq, now - day);

  const h = new Housekeeper({
    store,
    dataDir: dir,
    doneDays: 7,
    outboxSentDays: 7,
    log: pino({ level: 'silent' }),
    now: () => now,
  });
  expect(await h.runOnce()).toEqual({ doneDirs: 2, outboxRows: 1 });
  expect(
    ['2026-11-10', '2026-11-14', '2026-11-15', '2026-11-22', 'not-a-date'].map((d) =>
      existsSync(join(dir, 'scans', 'done', d)),
    ),
  ).toEqual([false, false, true, true, true]);
  // The unsent row is never pruned, whatever its age: it is a message still owed to the city.
  expect(store.outbox.pending(0, 10).map((r) => r.seq)).toEqual([unsent!.seq]);
});
