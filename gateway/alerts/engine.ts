import { copyFile, link, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
import {
  ALERT_SCHEMA_ID,
  type AlertItem,
  type AlertNew,
  alertNewSchema,
  topics,
} from '../../adapters/mqtt/topics.js';
import type { Logger } from '../../config/shared/log.js';
import type { Detection } from '../../config/shared/types.js';
import type { DataLayout } from '../scans/layout.js';
import type { ScanRecord, ScanViewRecord } from '../store/scans.js';
import type { Store } from '../store/store.js';
import { type EvidenceView, renderAnnotated, writeEvidenceFile } from './evidence.js';
import { type AlarmDecision, decide, type LabelPolicy } from './rules.js';

export interface ScreenedView extends ScanViewRecord, EvidenceView {
  /** The original file in the processing area. */
  path: string;
}

export interface Screening {
  views: ScreenedView[];
  detections: Detection[];
  models: Array<{ name: string; version: string }>;
  timings: Record<string, number>;
}

export interface EngineDeps {
  site: string;
  sources: ReadonlyMap<string, { name: string }>;
  policy: LabelPolicy;
  store: Store;
  layout: DataLayout;
  jpegQuality: number;
  log: Logger;
  /** Called after an alert's outbox row is committed, so the publisher wakes at once. */
  onCommitted: (alert: AlertNew | null, scan: ScanRecord) => void;
  now?: () => number;
}

/** Hard link when possible: the evidence copy costs no disk and survives the original's removal. */
async function keepOriginal(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return; // a resumed scan: kept on the first attempt
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await copyFile(from, to);
  }
}

/** Items as the contract carries them: scores to 3 decimals, boxes to 0.1 px. */
export function alertItems(items: readonly Detection[]): AlertItem[] {
  return items.map((d) => ({
    label: d.label,
    category: d.category,
    score: Math.round(d.score * 1000) / 1000,
    view: d.view,
    box: d.box.map((c) => Math.round(c * 10) / 10) as [number, number, number, number],
    model: d.model,
  }));
}

export const viewUrl = (scanId: string, view: string) => `/api/v1/scans/${scanId}/views/${view}`;
export const annotatedUrl = (alertId: string) => `/api/v1/alerts/${alertId}/annotated.jpg`;

/**
 * Turns a screened scan into its final record and, for an alarm, one alert. Evidence is written
 * first (named by scan id, so a resumed scan rewrites the same files); then the scan record, the
 * alert and its outbox row commit in one transaction. Either all three exist or none do.
 */
export class AlertEngine {
  private readonly now: () => number;

  constructor(private readonly d: EngineDeps) {
    this.now = d.now ?? Date.now;
  }

  async complete(
    scan: ScanRecord,
    s: Screening,
  ): Promise<{ decision: AlarmDecision; alert: AlertNew | null }> {
    const decision = decide(s.detections, this.d.policy);
    let alert: AlertNew | null = null;
    if (decision.alarm) {
      const dir = this.d.layout.evidenceOf(scan.id);
      await mkdir(dir, { recursive: true });
      await Promise.all(s.views.map((v) => keepOriginal(v.path, join(dir, `${v.view}${v.ext}`))));
      const annotated = await renderAnnotated(s.views, decision.items, this.d.jpegQuality);
      await writeEvidenceFile(dir, 'annotated.jpg', annotated);
      alert = this.buildAlert(scan, s, decision);
    }
    const finishedAt = this.now();
    this.d.store.tx(() => {
      this.d.store.scans.finish(
        scan.id,
        {
          decision: decision.alarm ? 'ALARM' : 'CLEAR',
          detections: s.detections,
          models: s.models,
          views: s.views.map(({ view, width, height, sha256, ext }) => ({
            view,
            width,
            height,
            sha256,
            ext,
          })),
          timings: s.timings,
          alertId: alert?.id ?? null,
        },
        finishedAt,
      );
      if (alert) {
        this.d.store.alerts.insert(alert, scan.id, finishedAt);
        // One message per category topic: a parcel with a knife and drugs reaches both the screeners'
        // and the task force's subscriptions. Same id on both, so a consumer of both dedupes it.
        const payload = JSON.stringify(alert);
        for (const category of alert.categories) {
          this.d.store.outbox.enqueue(
            { topic: topics.alert(this.d.site, category), payload, qos: 1, retain: false, alertId: alert.id },
            finishedAt,
          );
        }
      }
    });
    this.d.onCommitted(alert, scan);
    return { decision, alert };
  }

  private buildAlert(scan: ScanRecord, s: Screening, decision: AlarmDecision): AlertNew {
    const id = ulid();
    const msg: AlertNew = {
      type: 'new',
      schema: ALERT_SCHEMA_ID,
      id,
      site: this.d.site,
      category: decision.category,
      categories: decision.categories,
      severity: decision.severity,
      createdAt: new Date(this.now()).toISOString(),
      source: {
        kind: 'xray',
        id: scan.sourceId,
        name: this.d.sources.get(scan.sourceId)?.name ?? scan.sourceId,
      },
      scan: {
        id: scan.id,
        waybill: scan.waybill,
        capturedAt: scan.capturedAt,
        views: s.views.map((v) => ({
          view: v.view,
          width: v.width,
          height: v.height,
          sha256: v.sha256,
          url: viewUrl(scan.id, v.view),
        })),
      },
      machine: {
        decision: 'ALARM',
        models: s.models,
        items: alertItems(decision.items),
      },
      operator: null,
      evidence: { annotated: annotatedUrl(id), clip: null },
    };
    // The contract is checked on the way out: a payload the city cannot parse is a bug to catch here,
    // not in the remote database.
    return alertNewSchema.parse(msg);
  }
}
