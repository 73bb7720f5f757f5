/**
 * Camera tamper detection on the analysis frames a scene camera already delivers: a black picture
 * (lens blocked in the dark, sensor or cable dead), a covered or defocused lens (a flat picture that is
 * not black), and a frozen picture (the camera or its encoder repeating one frame). Each verdict must
 * last `holdSeconds` before it starts and be gone for `holdSeconds` before it ends, so one odd frame
 * (a light switched on, a passing hand) never raises or clears an alarm.
 *
 * Every frame is reduced once by sharp (libvips, off the main thread) to a greyscale thumbnail of at
 * most 160×120; all measurements are taken on it. Two reasons: the event loop only ever walks ~19 KB,
 * never a frame; and averaging each thumbnail pixel over a block of sensor pixels removes most sensor
 * noise, so a covered lens in a dark room (full-frame noise σ 5–10) still reads as flat.
 */
import sharp from 'sharp';
import type { VideoFrame } from '../../adapters/rtsp/reader.js';
import type { CameraConfig } from '../../config/schema.js';
import { PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';

export type TamperCondition = 'black' | 'frozen' | 'covered';
export type TamperSettings = CameraConfig['tamper'];

export interface TamperEvent {
  condition: TamperCondition;
  state: 'start' | 'end';
  /** Epoch ms of the frame that settled the verdict (after the hold). */
  at: number;
  /** The measurements behind the verdict (the MQTT device event's `details`). */
  details: Record<string, number>;
}

export interface FrameMeasure {
  /** Mean grey level, 0–255. */
  mean: number;
  /** Standard deviation of the grey level over the thumbnail. */
  stddev: number;
  /** Mean absolute grey-level difference from the previous frame; null for the first frame or after a gap. */
  change: number | null;
}

export interface TamperDetectorOptions {
  /** Camera id, for logs. */
  id: string;
  settings: Readonly<TamperSettings>;
  /** Called for every start and end; a listener that throws is logged and does not stop detection. */
  onEvent(event: TamperEvent): void;
  log: Logger;
}

const THUMB_WIDTH = 160;
const THUMB_HEIGHT = 120;

/**
 * A frame counts as unchanged when its thumbnail moved by less than this on average. A camera or
 * encoder repeating a frame gives exactly 0 (decoding, scaling and this reduction are deterministic),
 * while a live sensor watching a perfectly still scene does not: even σ = 0.5 grey-level sensor noise
 * leaves ~0.1 on a 160×120 thumbnail of a 640×360 frame. 0.02 means fewer than one thumbnail pixel in 50
 * moved by one level. Still scenes coded by H.264 with skipped blocks are refreshed at every key frame
 * (at most every few seconds), far inside `frozenSeconds`.
 */
export const FROZEN_MAX_CHANGE = 0.02;

/**
 * Once a condition is active it must be clearly over, not just over the threshold, before it counts as
 * gone: a picture hovering at the threshold would otherwise never hold either state long enough.
 */
const BLACK_CLEAR_MARGIN = 4;
const FLAT_CLEAR_MARGIN = 1.5;

const ORDER: readonly TamperCondition[] = ['black', 'covered', 'frozen'];

interface Track {
  active: boolean;
  /** When the raw verdict first disagreed with `active` (without interruption since); null if it agrees. */
  since: number | null;
}

export class TamperDetector {
  private readonly s: Readonly<TamperSettings>;
  private readonly log: Logger;
  private readonly tracks: Record<TamperCondition, Track> = {
    black: { active: false, since: null },
    covered: { active: false, since: null },
    frozen: { active: false, since: null },
  };
  private prevThumb: Buffer | null = null;
  private prevAt: number | null = null;
  /** Time of the last frame that differed from its predecessor (or started a fresh comparison). */
  private lastChangeAt = 0;
  private latest: FrameMeasure | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: TamperDetectorOptions) {
    this.s = o.settings;
    this.log = o.log.child({ camera: { id: o.id } });
  }

  /** Conditions now reported (started and not yet ended). */
  conditions(): TamperCondition[] {
    return ORDER.filter((c) => this.tracks[c].active);
  }

  /** The last frame's measurements (diagnostics, status). */
  lastMeasure(): FrameMeasure | null {
    return this.latest ? { ...this.latest } : null;
  }

  /**
   * Measures one frame and updates the verdicts. Frames are processed one at a time in call order (the
   * reader's hand-off already keeps at most one in flight); a frame older than the last one is ignored.
   */
  observe(frame: VideoFrame): Promise<void> {
    if (!this.s.enabled) return Promise.resolve();
    const next = this.queue.then(() => this.process(frame));
    // The chain itself must survive a failed frame; the caller still sees the failure.
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async process(frame: VideoFrame): Promise<void> {
    if (this.prevAt !== null && frame.receivedAt < this.prevAt) return;
    const thumb = await thumbnail(frame);
    const t = frame.receivedAt;
    const { mean, stddev, change } = compare(thumb, this.prevThumb);
    // A long gap (stream down, reconnect) is no evidence that the picture did not change meanwhile.
    const gapMs = Math.max(5000, this.s.frozenSeconds * 500);
    const fresh = this.prevAt === null || t - this.prevAt > gapMs || change === null;
    if (fresh || (change ?? 0) >= FROZEN_MAX_CHANGE) this.lastChangeAt = t;
    this.prevThumb = thumb;
    this.prevAt = t;
    const measure: FrameMeasure = { mean, stddev, change: fresh ? null : change };
    this.latest = measure;

    const blackLevel = this.s.blackLevel + (this.tracks.black.active ? BLACK_CLEAR_MARGIN : 0);
    const flatLevel = this.s.flatStddev + (this.tracks.covered.active ? FLAT_CLEAR_MARGIN : 0);
    const dark = mean < blackLevel;
    const flat = stddev < flatLevel;
    const unchangedMs = t - this.lastChangeAt;
    const raw: Record<TamperCondition, boolean> = {
      black: dark,
      covered: flat && !dark,
      // A flat picture is unchanged by nature: reporting it frozen too would only repeat the first verdict.
      frozen: !dark && !flat && unchangedMs >= this.s.frozenSeconds * 1000,
    };
    const details: Record<string, number> = {
      mean: round(mean),
      stddev: round(stddev),
      unchangedSeconds: round(unchangedMs / 1000),
    };
    if (measure.change !== null) details.change = round(measure.change, 3);
    for (const c of ORDER) this.step(c, raw[c], t, details);
  }

  /** Time hysteresis: the raw verdict must disagree with the reported state for holdSeconds to flip it. */
  private step(c: TamperCondition, present: boolean, t: number, measured: Record<string, number>): void {
    const track = this.tracks[c];
    if (present === track.active) {
      track.since = null;
      return;
    }
    track.since ??= t;
    const held = t - track.since;
    if (held < this.s.holdSeconds * 1000) return;
    track.active = present;
    track.since = null;
    const event: TamperEvent = {
      condition: c,
      state: present ? 'start' : 'end',
      at: t,
      details: { ...measured, heldSeconds: round(held / 1000) },
    };
    const fields = { tamper: { condition: c, state: event.state, details: event.details } };
    if (present) this.log.warn(fields, 'camera tamper condition started');
    else this.log.info(fields, 'camera tamper condition ended');
    try {
      this.o.onEvent(event);
    } catch (err) {
      this.log.error({ err }, 'tamper event listener threw');
    }
  }
}

/** Greyscale thumbnail (at most 160×120, area-averaged by libvips), one byte per pixel. */
export async function thumbnail(frame: VideoFrame): Promise<Buffer> {
  const { width, height, data } = frame;
  if (data.length !== width * height * 3) {
    throw new PgError('STREAM_CORRUPT', `frame of ${data.length} bytes is not ${width}×${height} rgb24`);
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .resize(Math.min(width, THUMB_WIDTH), Math.min(height, THUMB_HEIGHT), { fit: 'fill' })
    .greyscale()
    .raw()
    .toBuffer();
}

/** Mean, spread and change of a thumbnail in one pass over its (at most 19 200) bytes. */
export function compare(
  thumb: Buffer,
  prev: Buffer | null,
): { mean: number; stddev: number; change: number | null } {
  const n = thumb.length;
  const withPrev = prev !== null && prev.length === n;
  let sum = 0;
  let sumSq = 0;
  let diff = 0;
  for (let i = 0; i < n; i++) {
    const v = thumb[i] ?? 0;
    sum += v;
    sumSq += v * v;
    if (withPrev) diff += Math.abs(v - (prev[i] ?? 0));
  }
  const mean = n > 0 ? sum / n : 0;
  const variance = n > 0 ? Math.max(0, sumSq / n - mean * mean) : 0;
  return { mean, stddev: Math.sqrt(variance), change: withPrev && n > 0 ? diff / n : null };
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
