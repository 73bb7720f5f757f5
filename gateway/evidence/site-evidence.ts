/**
 * Video evidence for the whole site, assembled from the config: a ring recorder per scene camera that
 * is linked to an X-ray machine (or display), a clip request to each of them for every alert of that
 * machine, the alert's `update` once the clip is cut, the disk quota over rings and clips, on-demand
 * recorders for live HLS of cameras without a ring, and the HTTP routes for all of it.
 */
import type { FastifyInstance } from 'fastify';
import type { AlertNew, ClipRef } from '../../adapters/mqtt/topics.js';
import type { CameraConfig, Config } from '../../config/schema.js';
import { errorMessage, isPgError, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { AlertUpdater } from '../alerts/updates.js';
import { VIEW_CAMERAS } from '../cameras/status-routes.js';
import { READ_ALERTS, type TokenAuth } from '../http/auth.js';
import type { Store } from '../store/store.js';
import { ClipService } from './clips.js';
import { LiveSessions } from './hls.js';
import { EvidenceQuota } from './quota.js';
import { SegmentRecorder } from './recorder.js';
import { evidencePaths } from './ring.js';
import { evidenceRoutes } from './routes.js';

const DAY_MS = 86_400_000;
/** Seconds an on-demand live recorder keeps: a player needs a few segments, nothing more. */
const LIVE_RING_SECONDS = 30;

export interface SiteEvidenceDeps {
  config: Readonly<Config>;
  store: Store;
  updater: AlertUpdater;
  log: Logger;
  /** The credentialed stream URL of a camera once known (ONVIF cameras resolve it at run time). */
  streamUrl: (cameraId: string) => string | null;
  ffmpegPath?: string;
  now?: () => number;
}

export class SiteEvidence {
  readonly clips: ClipService;
  readonly quota: EvidenceQuota;
  readonly live: LiveSessions;
  private readonly recorders = new Map<string, SegmentRecorder>();
  private readonly paths;
  private readonly cameras: ReadonlyMap<string, CameraConfig>;
  private readonly now: () => number;

  constructor(private readonly d: SiteEvidenceDeps) {
    const cfg = d.config;
    this.now = d.now ?? Date.now;
    this.paths = evidencePaths(cfg.dataDir);
    this.cameras = new Map(cfg.cameras.map((c) => [c.id, c]));
    this.clips = new ClipService({
      paths: this.paths,
      source: (id) => this.recorders.get(id),
      onReady: (alertId, ref) => {
        d.updater.apply(alertId, { clip: ref });
      },
      log: d.log.child({ part: 'clips' }),
      ...(d.ffmpegPath ? { cut: { ffmpegPath: d.ffmpegPath } } : {}),
      jpegQuality: cfg.evidence.jpegQuality,
    });
    this.quota = new EvidenceQuota({
      paths: this.paths,
      quotaMb: cfg.evidence.quotaMb,
      rings: () => this.recorders.values(),
      keepClipsOf: (alertId) => this.keepClipsOf(alertId),
      log: d.log.child({ part: 'quota' }),
    });
    this.live = new LiveSessions({
      create: (id) => this.liveRecorder(id),
      maxSessions: Math.max(1, cfg.liveView.maxCameras),
      log: d.log.child({ part: 'live' }),
    });
    // RTSP cameras are known now: their recorders exist before the clip service resumes old requests.
    for (const c of cfg.cameras) if (this.records(c) && c.rtsp) this.recorder(c, c.rtsp.url);
  }

  /** The parts to start, in order: clips first (resumed requests pin their video), then the rest. */
  components(): Component[] {
    return [this.clips, this.quota, this.live];
  }

  /** Whether a camera keeps an evidence ring. */
  records(c: CameraConfig): boolean {
    return c.role === 'scene' && c.record.enabled && c.linkedTo.length > 0;
  }

  /** The ring recorder of a camera, made on first use (an ONVIF camera's once its URL is known). */
  recorder(c: CameraConfig, url: string): SegmentRecorder {
    const existing = this.recorders.get(c.id);
    if (existing) return existing;
    const rec = new SegmentRecorder({
      id: c.id,
      url,
      record: c.record,
      dir: this.paths.ringOf(c.id),
      transport: c.stream.transport,
      timeoutMs: c.stream.timeoutMs,
      ...(this.d.ffmpegPath ? { ffmpegPath: this.d.ffmpegPath } : {}),
      log: this.d.log,
    });
    this.recorders.set(c.id, rec);
    return rec;
  }

  /** Every linked camera of the alert's source gets a clip request; a camera that cannot says why. */
  async onAlert(alert: AlertNew): Promise<void> {
    const at = Date.parse(alert.scan.capturedAt ?? alert.createdAt);
    const linked = [...this.cameras.values()].filter(
      (c) => this.records(c) && c.linkedTo.includes(alert.source.id),
    );
    for (const c of linked) {
      try {
        await this.clips.request({ alertId: alert.id, cameraId: c.id, atMs: at });
      } catch (err) {
        // The alert is already out; the city still learns that this camera's clip will not come.
        const reason = isPgError(err, 'CAMERA_UNKNOWN')
          ? 'the camera has no recorder yet (its stream address is not resolved)'
          : errorMessage(err);
        this.d.log.warn({ alert: alert.id, camera: c.id, reason }, 'no clip for this alert');
        const ref: ClipRef = {
          camera: c.id,
          clip: null,
          snapshot: null,
          from: new Date(at - c.record.preSeconds * 1000).toISOString(),
          to: new Date(at + c.record.postSeconds * 1000).toISOString(),
          reason,
        };
        this.d.updater.apply(alert.id, { clip: ref });
      }
    }
  }

  /** Clips are kept while the alert is open, and for `retention.clipDays` after. */
  keepClipsOf(alertId: string): boolean {
    const a = this.d.store.alerts.get(alertId);
    if (!a) return false;
    if (a.state === 'open') return true;
    // Alerts have no closing time yet (closing arrives with the screener console): count from creation.
    return a.createdAt + this.d.config.retention.clipDays * DAY_MS > this.now();
  }

  recorderStatus(id: string) {
    return this.recorders.get(id)?.status() ?? null;
  }

  routes(app: FastifyInstance, auth: TokenAuth): void {
    void app.register(evidenceRoutes, {
      authorize: (req, target) => {
        if (target.kind === 'live') {
          auth.authorize(req, { roles: VIEW_CAMERAS });
          return;
        }
        const p = auth.authorize(req, { roles: READ_ALERTS });
        const a = this.d.store.alerts.get(target.alertId);
        // The task force sees drug alerts only, and their clips likewise.
        if (!a || (p.role === 'taskforce' && !a.message.categories.includes('drug')))
          throw new PgError('NOT_FOUND', 'no such alert');
      },
      paths: this.paths,
      isCamera: (id) => this.cameras.has(id),
      ringOf: (id) => this.recorders.get(id),
      live: this.live,
    });
  }

  private liveRecorder(id: string): SegmentRecorder | undefined {
    const c = this.cameras.get(id);
    const url = c ? this.d.streamUrl(id) : null;
    if (!c || !url) return undefined;
    return new SegmentRecorder({
      id,
      url,
      record: { ...c.record, ringSeconds: LIVE_RING_SECONDS, preSeconds: 0, postSeconds: 0 },
      dir: this.paths.liveOf(id),
      transport: c.stream.transport,
      timeoutMs: c.stream.timeoutMs,
      ephemeral: true,
      ...(this.d.ffmpegPath ? { ffmpegPath: this.d.ffmpegPath } : {}),
      log: this.d.log,
    });
  }
}
