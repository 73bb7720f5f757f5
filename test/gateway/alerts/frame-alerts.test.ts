import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertMessageSchema, alertNewSchema } from '../../../adapters/mqtt/topics.js';
import type { ModelConfig } from '../../../config/schema.js';
import type { Detection } from '../../../config/shared/types.js';
import { cropRect, FrameAlerts } from '../../../gateway/alerts/frame-alerts.js';
import { LabelPolicy } from '../../../gateway/alerts/rules.js';
import { AlertUpdater } from '../../../gateway/alerts/updates.js';
import { dataLayout } from '../../../gateway/scans/layout.js';
import { Store } from '../../../gateway/store/store.js';

const model = {
  name: 'm',
  version: '3',
  labels: [
    { name: 'knife', category: 'prohibited', alarm: true },
    { name: 'powder', category: 'drug', alarm: true },
  ],
} as ModelConfig;

const det = (label: string, score: number, box: Detection['box']): Detection => ({
  label,
  category: label === 'powder' ? 'drug' : 'prohibited',
  score,
  view: 'display',
  box,
  model: { name: 'm', version: '3' },
});

let dir: string;
let store: Store;
let alerts: FrameAlerts;
let commits: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-frame-alerts-'));
  store = new Store(join(dir, 'data'));
  await store.start();
  commits = 0;
  const log = pino({ level: 'silent' });
  const updater = new AlertUpdater({ site: 's1', store, log, onCommitted: () => commits++ });
  alerts = new FrameAlerts({
    site: 's1',
    cameras: new Map([['disp-1', { name: 'Line 5 display' }]]),
    policy: new LabelPolicy([model]),
    store,
    layout: dataLayout(join(dir, 'data')),
    updater,
    jpegQuality: 80,
    log,
    onCommitted: () => commits++,
  });
});
afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function frame(colour: string) {
  const { data, info } = await sharp({ create: { width: 320, height: 180, channels: 3, background: colour } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: data, width: info.width, height: info.height };
}

const pending = () =>
  store.outbox.pending(0, 100).map((r) => ({ ...r, msg: JSON.parse(r.payload) as unknown }));

describe('FrameAlerts (display-capture alerts)', () => {
  it('records a tracked threat as a one-view scan, an alert and its outbox rows, with frame, annotated frame and crop', async () => {
    const at = Date.parse('2026-11-22T10:00:00Z');
    const id = await alerts.raise({
      cameraId: 'disp-1',
      trackId: 't1',
      at,
      frame: await frame('#c08040'),
      items: [det('knife', 0.81, [100, 50, 160, 80])],
    });
    const rec = store.alerts.get(id);
    expect(rec).toBeDefined();
    const msg = alertNewSchema.parse(rec!.message);
    expect(msg.source).toEqual({ kind: 'camera', id: 'disp-1', name: 'Line 5 display' });
    expect(msg.scan.capturedAt).toBe('2026-11-22T10:00:00.000Z');
    expect(msg.scan.views).toEqual([expect.objectContaining({ view: 'display', width: 320, height: 180 })]);
    expect(msg.machine.items.map((i) => i.label)).toEqual(['knife']);
    expect(msg.evidence.crop).toBe(`/api/v1/alerts/${id}/crop.jpg`);

    const scan = store.scans.get(rec!.scanId)!;
    expect(scan).toMatchObject({
      via: 'display',
      state: 'done',
      decision: 'ALARM',
      alertId: id,
      filesSettled: true,
    });
    const evidence = dataLayout(join(dir, 'data')).evidenceOf(scan.id);
    for (const f of ['display.jpg', 'annotated.jpg', 'crop.jpg'])
      expect(existsSync(join(evidence, f))).toBe(true);
    const crop = await sharp(join(evidence, 'crop.jpg')).metadata();
    expect(crop.width).toBe(96); // 60 px box × 1.5 = 90, widened to the 96 px minimum
    expect(crop.height).toBe(96);

    const rows = pending();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.topic).toBe('parcelguard/v1/s1/alerts/prohibited');
    expect(commits).toBe(1);
  });

  it('a better frame rewrites the evidence and goes out as an update on every topic of the alert', async () => {
    const id = await alerts.raise({
      cameraId: 'disp-1',
      trackId: 't2',
      at: 1_000,
      frame: await frame('#808080'),
      items: [det('knife', 0.4, [10, 10, 40, 40]), det('powder', 0.5, [200, 100, 260, 150])],
    });
    const scanId = store.alerts.get(id)!.scanId;
    const path = join(dataLayout(join(dir, 'data')).evidenceOf(scanId), 'display.jpg');
    const before = (await sharp(readFileSync(path)).stats()).channels[0]!.mean;
    await alerts.improve(id, {
      at: 2_000,
      frame: await frame('#f0f0f0'),
      items: [det('knife', 0.93, [12, 10, 44, 40]), det('powder', 0.6, [200, 100, 260, 150])],
    });
    const after = (await sharp(readFileSync(path)).stats()).channels[0]!.mean;
    expect(after).toBeGreaterThan(before + 50);

    const rows = pending();
    // new + update, each on both category topics
    expect(rows.map((r) => r.topic).sort()).toEqual([
      'parcelguard/v1/s1/alerts/drug',
      'parcelguard/v1/s1/alerts/drug',
      'parcelguard/v1/s1/alerts/prohibited',
      'parcelguard/v1/s1/alerts/prohibited',
    ]);
    const update = alertMessageSchema.parse(rows.at(-1)!.msg);
    expect(update.type).toBe('update');
    if (update.type !== 'update') return;
    expect(update.id).toBe(id);
    expect(update.items?.find((i) => i.label === 'knife')?.score).toBe(0.93);
    expect(store.alerts.get(id)!.message.machine.items.find((i) => i.label === 'knife')?.score).toBe(0.93);
  });

  it('crop rectangles stay inside the frame', () => {
    expect(cropRect([det('knife', 1, [300, 170, 320, 180])], 320, 180)).toEqual({
      left: 224,
      top: 84,
      width: 96,
      height: 96,
    });
    expect(cropRect([det('knife', 1, [0, 0, 320, 180])], 320, 180)).toEqual({
      left: 0,
      top: 0,
      width: 320,
      height: 180,
    });
  });
});

describe('AlertUpdater', () => {
  it('folds clips into the stored alert, one entry per camera, and the first cut clip becomes `clip`', async () => {
    const id = await alerts.raise({
      cameraId: 'disp-1',
      trackId: 't3',
      at: 5_000,
      frame: await frame('#808080'),
      items: [det('knife', 0.9, [10, 10, 40, 40])],
    });
    const updater = new AlertUpdater({
      site: 's1',
      store,
      log: pino({ level: 'silent' }),
      onCommitted: () => undefined,
    });
    const ref = (camera: string, clip: string | null) => ({
      camera,
      clip,
      snapshot: clip ? `${clip}.jpg` : null,
      from: '2026-11-22T10:00:00.000Z',
      to: '2026-11-22T10:00:20.000Z',
      reason: clip ? null : 'no recorded video covers the requested time',
    });
    updater.apply(id, { clip: ref('cam-b', null) });
    const u = updater.apply(id, { clip: ref('cam-a', '/a.mp4') });
    expect(u.evidence?.clips?.map((c) => c.camera)).toEqual(['cam-a', 'cam-b']);
    expect(u.evidence?.clip).toBe('/a.mp4');
    updater.apply(id, { clip: ref('cam-b', '/b.mp4') });
    const stored = store.alerts.get(id)!.message.evidence;
    expect(stored.clips?.map((c) => c.clip)).toEqual(['/a.mp4', '/b.mp4']);
    expect(() => updater.apply('01JD3M4Z8Q2W6N5T7R9Y1B3C5D', { clip: ref('cam-a', null) })).toThrow(
      /no alert/,
    );
  });
});
