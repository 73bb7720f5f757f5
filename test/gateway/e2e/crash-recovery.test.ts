import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithMosquitto, type Mosquitto, startMosquitto } from '../../support/mosquitto.js';
import {
  AlertCollector,
  dropScan,
  makeSite,
  parcelImage,
  spawnGateway,
  type TestSite,
  waitFor,
} from '../../support/site.js';

const N = 200;

describeWithMosquitto('gateway kill -9 in the middle of a 200-scan run', () => {
  let broker: Mosquitto;
  let site: TestSite;
  let collector: AlertCollector;
  const children: Array<ReturnType<typeof spawnGateway>> = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    site = makeSite({ mqttUrl: broker.url });
    collector = await AlertCollector.connect(broker.url);
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await collector?.close();
    await broker?.cleanup();
    site?.cleanup();
  });

  const ledger = () => {
    const db = new Database(join(site.dataDir, 'parcelguard.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT id, waybill, state, decision FROM scans').all() as Array<{
        id: string;
        waybill: string;
        state: string;
        decision: string;
      }>;
    } finally {
      db.close();
    }
  };

  it('restarted, it records every scan exactly once and delivers every alert', {
    timeout: 120_000,
  }, async () => {
    const first = spawnGateway(site.configPath);
    children.push(first);
    await first.started;

    const knife = await parcelImage('knife', 1);
    const clean = await parcelImage('clean', 2);
    const expected = new Set<string>();
    for (let i = 0; i < N; i++) {
      const waybill = `KIL${String(i).padStart(6, '0')}`;
      if (i % 5 === 2) expected.add(waybill);
      await dropScan(site.inbox, `k-${String(i).padStart(4, '0')}`, i % 5 === 2 ? knife : clean, waybill);
    }

    // Kill it with part of the run done: some scans recorded, some claimed, some still in the folder.
    await waitFor(
      'a quarter of the scans recorded',
      () => ledger().filter((s) => s.state === 'done').length >= N / 4,
      60_000,
      10,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = ledger();
    expect(atKill.filter((s) => s.state === 'done').length).toBeLessThan(N);

    const second = spawnGateway(site.configPath);
    children.push(second);
    await second.started;
    await waitFor(
      'every scan recorded',
      () => ledger().filter((s) => s.state === 'done').length === N,
      60_000,
    );
    await waitFor(
      'every alert delivered',
      () =>
        new Set(collector.alerts().map((a) => (a.scan as { waybill: string }).waybill)).size >= expected.size,
      30_000,
    );
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));

    const rows = ledger();
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.waybill)).size).toBe(N);
    expect(
      rows
        .filter((r) => r.decision === 'ALARM')
        .map((r) => r.waybill)
        .sort(),
    ).toEqual([...expected].sort());
    expect(readdirSync(site.inbox)).toEqual([]);

    const idsByWaybill = collector.idsByWaybill();
    expect([...idsByWaybill.keys()].sort()).toEqual([...expected].sort());
    for (const ids of idsByWaybill.values()) expect(ids.size).toBe(1);
  });
});
