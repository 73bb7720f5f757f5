/**
 * From track events to sink calls: one `raise` per confirmed track with its best frame, `improve` for
 * each better frame after that, nothing for a track muted by TIP. Sink calls of one track run in
 * order (an improvement never overtakes its raise) and never hold up screening; a raise that fails is
 * tried again with the next better frame and, failing that, once more when the track ends, so a
 * passing store outage does not lose the threat.
 */
import type { Logger } from '../../config/shared/log.js';
import type { Detection } from '../../config/shared/types.js';
import type { TrackEvent, TrackView } from './tracker.js';

/** The full ROI crop of one frame, rgb24. */
export interface DisplayPicture {
  rgb: Buffer;
  width: number;
  height: number;
}

export interface DisplayAlert {
  cameraId: string;
  trackId: string;
  /** Epoch ms the best frame arrived from the stream. */
  at: number;
  /** The stream reader's sequence number of the best frame. */
  frameSeq: number;
  /** The best frame: the whole ROI crop, not annotated. */
  frame: DisplayPicture;
  /** The threat as seen in that frame, boxes in crop pixels, view `display`. */
  items: Detection[];
}

export interface DisplayAlertSink {
  /** First confirmation of a track: records the alert and its evidence, returns the alert id. */
  raise(a: DisplayAlert): Promise<string>;
  /** A better frame for the same threat. */
  improve(alertId: string, a: Omit<DisplayAlert, 'cameraId' | 'trackId'>): Promise<void>;
}

/** A screened frame's crop, kept while it is some live track's best. */
export interface Shot extends DisplayPicture {
  at: number;
  seq: number;
}

interface Entry {
  shot: Shot | null;
  /** First seen while TIP was on: may be the projected threat itself. */
  tipBorn: boolean;
  muted: boolean;
  alertId: string | null;
  raiseFailed: boolean;
  chain: Promise<void>;
}

export class DisplayAlerts {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Set<Promise<void>>();
  private readonly c = { confirmed: 0, raised: 0, improved: 0, muted: 0, sinkErrors: 0 };

  constructor(
    private readonly cameraId: string,
    private readonly sink: DisplayAlertSink,
    private readonly log: Logger,
  ) {}

  born(trackId: string, tip: boolean): void {
    this.entries.set(trackId, {
      shot: null,
      tipBorn: tip,
      muted: false,
      alertId: null,
      raiseFailed: false,
      chain: Promise.resolve(),
    });
  }

  /** The track's best observation is in this frame. */
  keep(trackId: string, shot: Shot): void {
    const e = this.entries.get(trackId);
    if (e) e.shot = shot;
  }

  /**
   * `tip`: TIP is on now. A track confirmed while it is on, or first seen while it was, never
   * alerts: TIP draws its fake threat into a parcel's image, and that image keeps scrolling across
   * the display after the machine says TIP is over.
   */
  handle(events: ReadonlyArray<TrackEvent<Detection>>, tip: boolean): void {
    for (const ev of events) {
      const entry = this.entries.get(ev.track.id);
      if (!entry) continue;
      if (ev.type === 'confirmed') {
        this.c.confirmed++;
        if (tip || entry.tipBorn) {
          entry.muted = true;
          this.c.muted++;
          this.log.info({ track: trackFields(ev.track) }, 'display threat not alerted: TIP');
        } else this.deliver(ev.track, entry, false);
      } else if (ev.type === 'improved') {
        if (!entry.muted) this.deliver(ev.track, entry, false);
      } else {
        this.entries.delete(ev.track.id);
        if (ev.track.confirmed && !entry.muted) this.deliver(ev.track, entry, true);
      }
    }
  }

  /** Resolves once every sink call started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  counters(): { confirmed: number; raised: number; improved: number; muted: number; sinkErrors: number } {
    return { ...this.c };
  }

  /** `lastTry`: the track ended; only a raise that failed before is attempted (once more). */
  private deliver(track: TrackView<Detection>, entry: Entry, lastTry: boolean): void {
    const shot = entry.shot;
    if (!shot) return;
    const picture: DisplayPicture = { rgb: shot.rgb, width: shot.width, height: shot.height };
    const body = { at: shot.at, frameSeq: shot.seq, frame: picture, items: [track.best.det] };
    const run = async (): Promise<void> => {
      if (entry.alertId === null) {
        if (lastTry && !entry.raiseFailed) return;
        await this.raise(track, entry, body);
      } else if (!lastTry) {
        await this.improve(track, entry.alertId, body);
      }
    };
    const p = entry.chain.then(run);
    entry.chain = p;
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }

  private async raise(
    track: TrackView<Detection>,
    entry: Entry,
    body: Omit<DisplayAlert, 'cameraId' | 'trackId'>,
  ): Promise<void> {
    try {
      entry.alertId = await this.sink.raise({ cameraId: this.cameraId, trackId: track.id, ...body });
      entry.raiseFailed = false;
      this.c.raised++;
      this.log.info({ alert: { id: entry.alertId }, track: trackFields(track) }, 'display alert raised');
    } catch (err) {
      entry.raiseFailed = true;
      this.c.sinkErrors++;
      this.log.error(
        { err, track: trackFields(track) },
        'display alert not raised; retried with a better frame',
      );
    }
  }

  private async improve(
    track: TrackView<Detection>,
    alertId: string,
    body: Omit<DisplayAlert, 'cameraId' | 'trackId'>,
  ): Promise<void> {
    try {
      await this.sink.improve(alertId, body);
      this.c.improved++;
    } catch (err) {
      // The alert stands with its earlier frame; the next improvement carries a newer one.
      this.c.sinkErrors++;
      this.log.warn({ err, alert: { id: alertId }, track: trackFields(track) }, 'display alert not improved');
    }
  }
}

function trackFields(t: TrackView<Detection>): Record<string, unknown> {
  return { id: t.id, label: t.best.det.label, score: t.best.det.score, hits: t.hits, frame: t.best.frame };
}
