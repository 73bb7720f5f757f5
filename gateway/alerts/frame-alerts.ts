import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { ulid } from 'ulid';
import { ALERT_SCHEMA_ID, type AlertNew, alertNewSchema, topics } from '../../adapters/mqtt/topics.js';
import type { Logger } from '../../config/shared/log.js';
import type { Detection } from '../../config/shared/types.js';
import type { DataLayout } from '../scans/layout.js';
import type { Store } from '../store/store.js';
import { alertItems, annotatedUrl, viewUrl } from './engine.js';
import { renderAnnotated, writeEvidenceFile } from './evidence.js';
import { decide, type LabelPolicy } from './rules.js';
import type { AlertUpdater } from './updates.js';

/** The picture a display-capture alert is about: the region of interest of one video frame, rgb24. */
export interface FrameShot {
  rgb: Buffer;
  width: number;
  height: number;
}

export interface FrameAlertInput {
  cameraId: string;
  trackId: string;
  /** Epoch ms of the frame. */
  at: number;
  frame: FrameShot;
  /** In frame pixels, view `display`. */
  items: Detection[];
}

export interface FrameAlertDeps {
  site: string;
  cameras: ReadonlyMap<string, { name: string }>;
  policy: LabelPolicy;
  store: Store;
  layout: DataLayout;
  updater: AlertUpdater;
  jpegQuality: number;
  log: Logger;
  onCommitted: (alert: AlertNew) => void;
  now?: () => number;
}

export const VIEW = 'display';
export const cropUrl = (alertId: string) => `/api/v1/alerts/${alertId}/crop.jpg`;

/**
 * Alerts from a screened video picture (X-ray display capture). A tracked threat is recorded like a
 * scan with one view, the best frame, so the ledger, the API and the city see it the way they see an
 * exported scan: the frame, the annotated frame and a crop around the threat are written first, then
 * the ledger row, the alert and its outbox rows commit in one transaction. A better frame later
 * rewrites the evidence files in place and goes out as an `update`.
 */
export class FrameAlerts {
  private readonly now: () => number;

  constructor(private readonly d: FrameAlertDeps) {
    this.now = d.now ?? Date.now;
  }

  async raise(a: FrameAlertInput): Promise<string> {
    const decision = decide(a.items, this.d.policy);
    const items = decision.alarm ? decision.items : a.items;
    const scanId = ulid(this.now());
    const alertId = ulid(this.now());
    const sha256 = await this.writeEvidence(scanId, a.frame, items);
    const at = this.now();
    const name = this.d.cameras.get(a.cameraId)?.name ?? a.cameraId;
    const models = uniqueModels(items);
    const alert = alertNewSchema.parse({
      type: 'new',
      schema: ALERT_SCHEMA_ID,
      id: alertId,
      site: this.d.site,
      category: decision.category,
      categories: decision.categories.length > 0 ? decision.categories : [decision.category],
      severity: decision.severity,
      createdAt: new Date(at).toISOString(),
      source: { kind: 'camera', id: a.cameraId, name },
      scan: {
        id: scanId,
        waybill: null,
        capturedAt: new Date(a.at).toISOString(),
        views: [
          { view: VIEW, width: a.frame.width, height: a.frame.height, sha256, url: viewUrl(scanId, VIEW) },
        ],
      },
      machine: { decision: 'ALARM', models, items: alertItems(items) },
      operator: null,
      evidence: { annotated: annotatedUrl(alertId), clip: null, crop: cropUrl(alertId) },
    } satisfies AlertNew);
    const { store } = this.d;
    store.tx(() => {
      store.scans.insertClaiming({
        id: scanId,
        sourceId: a.cameraId,
        via: 'display',
        receivedAt: a.at,
        capturedAt: new Date(a.at).toISOString(),
        waybill: null,
        files: [],
      });
      store.scans.finish(
        scanId,
        {
          decision: 'ALARM',
          detections: a.items,
          models,
          views: [{ view: VIEW, width: a.frame.width, height: a.frame.height, sha256, ext: '.jpg' }],
          timings: {},
          alertId,
        },
        at,
      );
      // Nothing of the machine's to move or delete: the frame only ever lived in memory.
      store.scans.markSettled(scanId);
      store.alerts.insert(alert, scanId, at);
      const payload = JSON.stringify(alert);
      for (const category of alert.categories) {
        store.outbox.enqueue(
          { topic: topics.alert(this.d.site, category), payload, qos: 1, retain: false, alertId },
          at,
        );
      }
    });
    this.d.log.info(
      { alert: alertId, camera: a.cameraId, track: a.trackId, labels: items.map((i) => i.label) },
      'display-capture alert',
    );
    this.d.onCommitted(alert);
    return alertId;
  }

  /** A better frame of the same threat: same files, new content, and an `update` with its items. */
  async improve(alertId: string, a: Omit<FrameAlertInput, 'cameraId' | 'trackId'>): Promise<void> {
    const rec = this.d.store.alerts.get(alertId);
    if (!rec) throw new Error(`display alert ${alertId} is not in the store`);
    const decision = decide(a.items, this.d.policy);
    const items = decision.alarm ? decision.items : a.items;
    await this.writeEvidence(rec.scanId, a.frame, items);
    this.d.updater.apply(alertId, { items: alertItems(items) });
  }

  private async writeEvidence(scanId: string, f: FrameShot, items: readonly Detection[]): Promise<string> {
    const dir = this.d.layout.evidenceOf(scanId);
    const raw = { raw: { width: f.width, height: f.height, channels: 3 as const } };
    const frameJpeg = await sharp(f.rgb, raw).jpeg({ quality: this.d.jpegQuality }).toBuffer();
    const view = { view: VIEW, rgb: Buffer.from(f.rgb), width: f.width, height: f.height };
    const annotated = await renderAnnotated([view], items, this.d.jpegQuality);
    const r = cropRect(items, f.width, f.height);
    const crop = await sharp(annotated).extract(r).jpeg({ quality: this.d.jpegQuality }).toBuffer();
    await writeEvidenceFile(dir, `${VIEW}.jpg`, frameJpeg);
    await writeEvidenceFile(dir, 'annotated.jpg', annotated);
    await writeEvidenceFile(dir, 'crop.jpg', crop);
    return createHash('sha256').update(frameJpeg).digest('hex');
  }
}

/** The threats with half their size again around them, at least 96 px a side: enough context to judge. */
export function cropRect(
  items: readonly Detection[],
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } {
  if (items.length === 0) return { left: 0, top: 0, width, height };
  let [x1, y1, x2, y2] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0];
  for (const { box } of items) {
    x1 = Math.min(x1, box[0]);
    y1 = Math.min(y1, box[1]);
    x2 = Math.max(x2, box[2]);
    y2 = Math.max(y2, box[3]);
  }
  const grow = (lo: number, hi: number, max: number) => {
    const size = Math.min(max, Math.max(96, (hi - lo) * 1.5));
    const start = Math.max(0, Math.min(max - size, (lo + hi) / 2 - size / 2));
    return [Math.floor(start), Math.max(1, Math.min(max - Math.floor(start), Math.ceil(size)))] as const;
  };
  const [left, w] = grow(x1, x2, width);
  const [top, h] = grow(y1, y2, height);
  return { left, top, width: w, height: h };
}

function uniqueModels(items: readonly Detection[]): Array<{ name: string; version: string }> {
  const seen = new Map(items.map((i) => [`${i.model.name}@${i.model.version}`, i.model]));
  return [...seen.values()];
}
