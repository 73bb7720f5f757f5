import { readdirSync } from 'node:fs';

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/app.js';
import { describeWithMosquitto } from '../../support/mosquitto.js';
import {
  ADMIN_TOKEN,
  type AlertCollector,
  dropScan,
  type ParcelKind,
  parcelImage,
  publishedAlertValidator,
  startSiteOnBroker,
  type TestSite,
  waitFor,
} from '../../support/site.js';

const N = 200;
/** Every 10th parcel hides a knife, every 25th (not a knife one) drugs: 20 + 8 alerts out of 200. */
const kindOf = (i: number): ParcelKind => (i % 10 === 3 ? 'knife' : i % 25 === 7 ? 'powder' : 'clean');

describeWithMosquitto('hot folder → ONNX → durable alert → real mosquitto', () => {
  let env: Awaited<ReturnType<typeof startSiteOnBroker>>;
  let site: TestSite;
  let gateway: Gateway;
  let collector: AlertCollector;

  beforeAll(async () => {
    env = await startSiteOnBroker('warn');
    ({ site, gateway, collector } = env);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it(`${N} images → ${N} scan records and exactly the expected alerts, valid against the published schema`, async () => {
    const images = {
      clean: await parcelImage('clean', 1),
      knife: await parcelImage('knife', 2),
      powder: await parcelImage('powder', 3),
    };
    const expected = new Map<string, ParcelKind>();
    for (let i = 0; i < N; i++) {
      const kind = kindOf(i);
      const waybill = `SF${String(i).padStart(10, '0')}`;
      if (kind !== 'clean') expected.set(waybill, kind);
      await dropScan(site.inbox, `scan-${String(i).padStart(4, '0')}`, images[kind], waybill);
    }
    expect(expected.size).toBe(28);

    await waitFor('every scan recorded', () => gateway.store.scans.count('done') === N, 60_000);
    await waitFor('every alert delivered', () => collector.alerts().length >= expected.size, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // any extra (wrong) alert would show up now

    expect(gateway.store.scans.count()).toBe(N);
    const alerts = collector.alerts();
    expect(alerts).toHaveLength(expected.size);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(expected.size);

    const validate = publishedAlertValidator();
    for (const a of alerts) {
      expect(validate(a), JSON.stringify(validate.errors)).toBe(true);
      const scan = a.scan as { waybill: string; views: Array<{ width: number }> };
      const kind = expected.get(scan.waybill);
      expect(kind, `alert for unexpected waybill ${scan.waybill}`).toBeDefined();
      const items = (a.machine as { items: Array<{ label: string; box: number[] }> }).items;
      expect(items.map((x) => x.label)).toEqual([kind === 'knife' ? 'knife' : 'powder']);
      expect(a.category).toBe(kind === 'knife' ? 'prohibited' : 'drug');
      // The probe's box is 16–48 on both axes of its 64×64 input. A 320×200 source letterboxes at
      // scale 0.2 with 12 px of padding above, so in source pixels: x (16/0.2, 48/0.2) = 80–240,
      // y ((16−12)/0.2, (48−12)/0.2) = 20–180.
      expect(items[0]!.box).toEqual([80, 20, 240, 180]);
      expect(scan.views[0]!.width).toBe(320);
    }
    // The hot folder is empty and nothing was quarantined: every file was claimed once.
    expect(readdirSync(site.inbox)).toEqual([]);
    expect(gateway.store.outbox.depth()).toBe(0);

    // The HTTP API serves the same alerts and their evidence.
    const res = await gateway.server.inject({
      url: '/api/v1/alerts?limit=100',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    const listed = res.json() as { alerts: Array<{ id: string }> };
    expect(listed.alerts.map((a) => a.id).sort()).toEqual(alerts.map((a) => a.id as string).sort());
    const img = await gateway.server.inject({
      url: `/api/v1/alerts/${listed.alerts[0]!.id}/annotated.jpg`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(img.statusCode).toBe(200);
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(img.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });
});
