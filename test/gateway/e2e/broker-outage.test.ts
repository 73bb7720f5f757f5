import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/app.js';
import { describeWithMosquitto, type Mosquitto } from '../../support/mosquitto.js';
import {
  type AlertCollector,
  dropScan,
  parcelImage,
  startSiteOnBroker,
  type TestSite,
  waitFor,
} from '../../support/site.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithMosquitto('broker outage of 20 s while scans keep arriving', () => {
  let env: Awaited<ReturnType<typeof startSiteOnBroker>>;
  let broker: Mosquitto;
  let site: TestSite;
  let gateway: Gateway;
  let collector: AlertCollector;

  beforeAll(async () => {
    env = await startSiteOnBroker('error');
    ({ broker, site, gateway, collector } = env);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('every alert arrives after the broker comes back, each id once per alert', {
    timeout: 90_000,
  }, async () => {
    const knife = await parcelImage('knife', 1);
    const clean = await parcelImage('clean', 2);
    const expected = new Set<string>();
    let outage = { depth: 0, ready: 0 };
    const feed = (async () => {
      // 4 scans a second for 26 s; every 4th hides a knife.
      for (let i = 0; i < 104; i++) {
        const waybill = `OUT${String(i).padStart(6, '0')}`;
        if (i % 4 === 1) expected.add(waybill);
        await dropScan(site.inbox, `s-${i}`, i % 4 === 1 ? knife : clean, waybill);
        await sleep(250);
      }
    })();

    await sleep(3000);
    await broker.stop();
    await sleep(18_000);
    // Deep into the outage: alerts wait in the outbox and readiness says why.
    const ready = await gateway.server.inject({ url: '/readyz' });
    outage = { depth: gateway.store.outbox.depth(), ready: ready.statusCode };
    await sleep(2000);
    await broker.restart();
    await feed;

    expect(outage.depth).toBeGreaterThan(10);
    expect(outage.ready).toBe(503);
    await waitFor('all 104 scans recorded', () => gateway.store.scans.count('done') === 104, 30_000);
    await waitFor(
      'every alert delivered',
      () => new Set(collector.alerts().map((a) => a.id)).size >= expected.size,
      30_000,
    );
    await waitFor('outbox drained', () => gateway.store.outbox.depth() === 0, 10_000);

    const byWaybill = collector.idsByWaybill();
    expect([...byWaybill.keys()].sort()).toEqual([...expected].sort());
    // At-least-once may redeliver, but one parcel never becomes two different alerts.
    for (const ids of byWaybill.values()) expect(ids.size).toBe(1);
  });
});
