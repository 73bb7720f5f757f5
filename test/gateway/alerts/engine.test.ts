import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertNewSchema } from '../../../adapters/mqtt/topics.js';
import type { ModelConfig } from '../../../config/schema.js';
import type { Detection } from '../../../config/shared/types.js';
import { AlertEngine, type Screening } from '../../../gateway/alerts/engine.js';
import { LabelPolicy } from '../../../gateway/alerts/rules.js';
import { dataLayout } from '../../../gateway/scans/layout.js';
import { Store } from '../../../gateway/store/store.js';

let dir: string;
let store: Store;
const committed: string[] = [];

const model = {
  name: 'm',
  version: '7',
  labels: [
    { name: 'knife', category: 'prohibited', alarm: true },
    { name: 'powder', category: 'drug', alarm: true },
  ],
} as ModelConfig;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-engine-'));
  store = new Store(join(dir, 'data'));
  await store.start();
  committed.length = 0;
});
afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function claimedScan(id: string) {
  const layout = dataLayout(join(dir, 'data'));
  const proc = layout.processingOf(id);
  mkdirSync(proc, { recursive: true });
  const path = join(proc, 'main.jpg');
  const { data, info } = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#888' } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  writeFileSync(
    path,
    await sharp(data, { raw: { width: 200, height: 100, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
  store.scans.insertClaiming({
    id,
    sourceId: 'xr-1',
    via: 'hotfolder',
    receivedAt: 1,
    capturedAt: null,
    waybill: 'SF42',
    files: [{ kind: 'image', view: 'main', originalName: 'a.jpg', from: '/in/a.jpg', to: path }],
  });
  store.scans.markQueued(id);
  const view = {
    view: 'main',
    width: info.width,
    height: info.height,
    sha256: 'a'.repeat(64),
    ext: '.jpg',
    path,
    rgb: data,
  };
  return { layout, scan: store.scans.get(id)!, view };
}

const det = (label: string, category: 'prohibited' | 'drug', score: number): Detection => ({
  label,
  category,
  score,
  view: 'main',
  box: [10, 10, 50, 50],
  model: { name: 'm', version: '7' },
});

function engine(layout: ReturnType<typeof dataLayout>) {
  return new AlertEngine({
    site: 'site-a',
    sources: new Map([['xr-1', { name: 'Line 1' }]]),
    policy: new LabelPolicy([model]),
    store,
    layout,
    jpegQuality: 80,
    log: pino({ level: 'silent' }),
    onCommitted: (alert) => committed.push(alert?.id ?? 'none'),
  });
}

describe('alert engine', () => {
  it('an alarm: scan record, alert and outbox rows in one go; both categories get their topic, one id', async () => {
    const { layout, scan, view } = await claimedScan('01JD40000000000000000000AA');
    const screening: Screening = {
      views: [view],
      detections: [det('knife', 'prohibited', 0.9), det('powder', 'drug', 0.7)],
      models: [{ name: 'm', version: '7' }],
      timings: {},
    };
    const { alert } = await engine(layout).complete(scan, screening);

    expect(alert).not.toBeNull();
    expect(alertNewSchema.safeParse(alert).success).toBe(true);
    expect(alert!.category).toBe('prohibited');
    expect(alert!.scan.waybill).toBe('SF42');
    const rows = store.outbox.pending(0, 10);
    expect(rows.map((r) => r.topic).sort()).toEqual([
      'parcelguard/v1/site-a/alerts/drug',
      'parcelguard/v1/site-a/alerts/prohibited',
    ]);
    expect(new Set(rows.map((r) => r.alertId))).toEqual(new Set([alert!.id]));
    expect(store.scans.get(scan.id)).toMatchObject({ state: 'done', decision: 'ALARM', alertId: alert!.id });
    expect(store.alerts.get(alert!.id)?.scanId).toBe(scan.id);
    expect(committed).toEqual([alert!.id]);
    // Evidence: the original kept (linked) and the annotated picture, named by scan id.
    expect(existsSync(join(layout.evidenceOf(scan.id), 'main.jpg'))).toBe(true);
    const annotated = await sharp(join(layout.evidenceOf(scan.id), 'annotated.jpg')).metadata();
    expect([annotated.width, annotated.height]).toEqual([200, 100]);
  });

  it('a clear scan: recorded with its detections, no alert, nothing to publish', async () => {
    const { layout, scan, view } = await claimedScan('01JD40000000000000000000BB');
    const { alert } = await engine(layout).complete(scan, {
      views: [view],
      detections: [],
      models: [{ name: 'm', version: '7' }],
      timings: { inferMs: 3 },
    });
    expect(alert).toBeNull();
    expect(store.outbox.depth()).toBe(0);
    expect(store.alerts.count()).toBe(0);
    expect(store.scans.get(scan.id)).toMatchObject({
      state: 'done',
      decision: 'CLEAR',
      alertId: null,
      timings: { inferMs: 3 },
    });
    expect(existsSync(layout.evidenceOf(scan.id))).toBe(false);
  });
});
