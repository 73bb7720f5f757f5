/**
 * Screens one captured X-ray operator display (a camera with role `xray-display`). Each frame's
 * region of interest is cut out (sharp), run through the camera's models (worker threads, behind
 * DetectorPort), filtered by the label policy and fed to the belt tracker; a confirmed track raises
 * one alert with its best frame, and a better frame later improves that alert. While the machine runs
 * threat-image projection (TIP) the screener mutes: the projected threats are the machine testing
 * its operator, not contraband.
 */
import type { VideoFrame } from '../../adapters/rtsp/reader.js';
import type { CameraConfig } from '../../config/schema.js';
import { errorMessage } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { Detection } from '../../config/shared/types.js';
import { decide, type LabelPolicy } from '../alerts/rules.js';
import type { DetectorPort } from '../pipeline/screen.js';
import { type DisplayAlertSink, DisplayAlerts, type Shot } from './display-alerts.js';
import { cropRgb, type PixelRect, roiRect } from './roi.js';
import { DisplayTracker, type TrackerOptions } from './tracker.js';

export type { DisplayAlert, DisplayAlertSink, DisplayPicture } from './display-alerts.js';

/** The view name detections of a display carry. */
export const DISPLAY_VIEW = 'display';

export interface DisplayScreenerOptions {
  cameraId: string;
  /** Model names to screen with (the camera's `models`). */
  models: readonly string[];
  /** The camera's `display` settings: ROI, belt direction, minHits, maxMissed. */
  display: CameraConfig['display'];
  detector: DetectorPort;
  policy: LabelPolicy;
  sink: DisplayAlertSink;
  log: Logger;
  /** No frame for this long (a reconnect) ends every track: the belt moved on unseen. Default 5000 ms. */
  gapResetMs?: number;
  /** Tracker tuning beyond the config (improvement margin and rate, gates). */
  tracker?: Partial<Omit<TrackerOptions, 'direction' | 'width' | 'height' | 'minHits' | 'maxMissed'>>;
  /** Called with each frame's crop + inference time, ms. */
  observeInference?: (ms: number) => void;
}

export interface DisplayCounters {
  /** Frames cropped and run through the models. */
  frames: number;
  /** Frames whose crop or inference failed (not fed to the tracker). */
  failed: number;
  /** Frames refused: while stopped, out of order, or offered while one was in work. */
  skipped: number;
  /** Detections the models returned, and those the label policy alarms on. */
  detections: number;
  alarmDetections: number;
  /** Tracks started, confirmed, and live now. */
  tracks: number;
  confirmed: number;
  liveTracks: number;
  alertsRaised: number;
  alertsImproved: number;
  /** Confirmed tracks that raised nothing because of TIP. */
  muted: number;
  sinkErrors: number;
  /** Belt speed in ROI px per frame, null until measured. */
  speedPxPerFrame: number | null;
  lastFrameAt: number | null;
  tip: boolean;
}

export interface TipState {
  active: boolean;
  by: string | null;
  since: number;
}

export class DisplayScreener implements Component {
  readonly name: string;
  private readonly log: Logger;
  private readonly alerts: DisplayAlerts;
  private readonly gapResetMs: number;
  private tracker: DisplayTracker<Detection> | null = null;
  private trackerFor = '';
  private generation = 0;
  private rects = new Map<string, PixelRect>();
  private running = false;
  private busy: Promise<void> | null = null;
  private lastSeq: number | null = null;
  private lastAt: number | null = null;
  private failing = false;
  private tipState: TipState = { active: false, by: null, since: Date.now() };
  private readonly c = {
    frames: 0,
    failed: 0,
    skipped: 0,
    detections: 0,
    alarmDetections: 0,
    tracks: 0,
  };

  constructor(private readonly o: DisplayScreenerOptions) {
    this.name = `display:${o.cameraId}`;
    this.log = o.log.child({ camera: { id: o.cameraId } });
    this.alerts = new DisplayAlerts(o.cameraId, o.sink, this.log);
    this.gapResetMs = o.gapResetMs ?? 5000;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.running = true;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /**
   * Finishes the frame in work, ends every track, and waits for the sink calls still going. A later
   * start() begins afresh: a new reader numbers its frames from 1 again.
   */
  async stop(): Promise<void> {
    this.running = false;
    await this.busy;
    if (this.tracker) this.alerts.handle(this.tracker.flush(), this.tipState.active);
    this.tracker = null;
    this.trackerFor = '';
    this.lastSeq = null;
    await this.alerts.settled();
  }

  /**
   * The frame consumer (pass it to `RtspReader.setConsumer`). Resolves when the frame is screened;
   * alerts are handed to the sink without waiting for it, so a slow evidence write never holds up
   * the next frame. Never rejects: failures are counted and logged.
   */
  readonly consume = async (frame: VideoFrame): Promise<void> => {
    if (!this.running || this.busy || (this.lastSeq !== null && frame.seq <= this.lastSeq)) {
      this.c.skipped++;
      return;
    }
    const work = this.screen(frame);
    this.busy = work;
    try {
      await work;
    } finally {
      this.busy = null;
    }
  };

  /** TIP on: nothing new alerts until it is off again (see `muted`). */
  setTip(active: boolean, by?: string): void {
    if (active === this.tipState.active) return;
    this.tipState = { active, by: by ?? null, since: Date.now() };
    this.log.info({ tip: { active, by: by ?? null } }, active ? 'TIP on: display alerts muted' : 'TIP off');
  }

  tip(): boolean {
    return this.tipState.active;
  }

  tipStatus(): TipState {
    return { ...this.tipState };
  }

  counters(): DisplayCounters {
    const a = this.alerts.counters();
    return {
      ...this.c,
      confirmed: a.confirmed,
      liveTracks: this.tracker?.stats().live ?? 0,
      alertsRaised: a.raised,
      alertsImproved: a.improved,
      muted: a.muted,
      sinkErrors: a.sinkErrors,
      speedPxPerFrame: this.tracker?.speed() ?? null,
      lastFrameAt: this.lastAt,
      tip: this.tipState.active,
    };
  }

  private async screen(frame: VideoFrame): Promise<void> {
    if (this.lastAt !== null && frame.receivedAt - this.lastAt > this.gapResetMs && this.tracker) {
      this.log.debug({ gapMs: frame.receivedAt - this.lastAt }, 'gap in the stream: tracks ended');
      this.alerts.handle(this.tracker.flush(), this.tipState.active);
    }
    this.lastSeq = frame.seq;
    this.lastAt = frame.receivedAt;
    const rect = this.rectOf(frame.width, frame.height);
    const started = performance.now();
    let crop: Buffer;
    let found: Detection[];
    try {
      crop = await cropRgb(frame, rect);
      found = await this.o.detector.detect(
        { data: crop, width: rect.width, height: rect.height },
        DISPLAY_VIEW,
        this.o.models,
      );
    } catch (err) {
      this.c.failed++;
      this.reportFailure(err);
      return;
    }
    this.o.observeInference?.(performance.now() - started);
    if (this.failing) this.log.info('display screening recovered');
    this.failing = false;
    this.c.frames++;
    this.c.detections += found.length;
    const items = decide(found, this.o.policy).items;
    this.c.alarmDetections += items.length;

    const tracker = this.trackerOf(rect);
    const events = tracker.update(frame.seq, items);
    const shot: Shot = {
      rgb: crop,
      width: rect.width,
      height: rect.height,
      at: frame.receivedAt,
      seq: frame.seq,
    };
    for (const t of tracker.tracks()) {
      if (t.firstFrame === frame.seq) {
        this.c.tracks++;
        this.alerts.born(t.id, this.tipState.active);
      }
      if (t.best.frame === frame.seq) this.alerts.keep(t.id, shot);
    }
    this.alerts.handle(events, this.tipState.active);
  }

  /** One tracker per ROI size: a new analysis size ends the old tracks (their boxes mean nothing now). */
  private trackerOf(rect: PixelRect): DisplayTracker<Detection> {
    const key = `${rect.width}x${rect.height}`;
    if (this.tracker && this.trackerFor === key) return this.tracker;
    if (this.tracker) this.alerts.handle(this.tracker.flush(), this.tipState.active);
    const d = this.o.display;
    this.tracker = new DisplayTracker<Detection>({
      ...this.o.tracker,
      direction: d.direction,
      width: rect.width,
      height: rect.height,
      minHits: d.minHits,
      maxMissed: d.maxMissed,
      // Unique across restarts (time) and size changes (generation): ids reach the alert records.
      idPrefix: `${this.o.cameraId}-${Date.now().toString(36)}.${++this.generation}-`,
    });
    this.trackerFor = key;
    return this.tracker;
  }

  private rectOf(width: number, height: number): PixelRect {
    const key = `${width}x${height}`;
    let rect = this.rects.get(key);
    if (!rect) {
      rect = roiRect(this.o.display.roi, width, height);
      this.rects = new Map([[key, rect]]);
    }
    return rect;
  }

  /** A warning when screening starts failing, then quiet until it works again: one per outage. */
  private reportFailure(err: unknown): void {
    if (this.failing) {
      this.log.debug({ err: errorMessage(err) }, 'display frame not screened');
      return;
    }
    this.failing = true;
    this.log.warn({ err }, 'display frame not screened; screening resumes with the next frame that works');
  }
}
