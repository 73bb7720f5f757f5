/**
 * Multi-object tracker for a scrolling X-ray display. The picture moves one way at the belt's speed,
 * so one threat is seen in many frames; this turns those sightings into one track per threat, and one
 * track is one alert. Pure: no I/O, no clock; frames are numbered by the caller (gaps are frames it
 * did not screen, and predictions move the belt across them).
 *
 * Association, per frame: (1) same label, gated and ranked by where the belt should have carried the
 * track; (2) a detection whose label flickered (knife ↔ scissors) joins an unmatched track it overlaps
 * well; (3) what is left starts a tentative track, unless it is a second box on an object already
 * claimed this frame or an object scrolling out. A track's label is the one with the highest summed
 * score over its sightings, so a detector that settles on another label keeps its track. Things
 * that never move (a UI element inside the ROI) are predicted to stay and do not count towards the
 * belt speed. Tentative → confirmed after `minHits` sightings → ended after more than `maxMissed`
 * screened frames without one, or once the belt has carried it out.
 */
import type { Box } from '../../config/shared/types.js';
import { Belt, type Span, SpeedEstimate, spanIou } from './belt.js';

import type {
  EndReason,
  Observation,
  Trackable,
  TrackEvent,
  TrackerOptions,
  TrackView,
} from './track-types.js';

export type {
  BeltDirection,
  EndReason,
  Observation,
  Trackable,
  TrackEvent,
  TrackerOptions,
  TrackView,
} from './track-types.js';

interface Track<T> {
  id: string;
  label: string;
  /** Summed score per label over the sightings: the track's label is the top one. */
  votes: Map<string, number>;
  /** Measured displacement along the belt since birth, px. */
  travel: number;
  category: string | undefined;
  span: Span;
  box: Box;
  hits: number;
  missed: number;
  confirmed: boolean;
  firstFrame: number;
  lastFrame: number;
  best: Observation<T>;
  /** Quality and frame of the last confirmed/improved event. */
  reported: { quality: number; frame: number } | null;
}

interface Sighting<T> {
  det: T;
  span: Span;
}

interface Pair<T> {
  track: Track<T>;
  index: number;
  cost: number;
}

export class DisplayTracker<T extends Trackable> {
  private readonly belt: Belt;
  private readonly o: Required<Omit<TrackerOptions, 'relabelIou'>> & { relabelIou: number | null };
  private readonly speedEstimate: SpeedEstimate;
  private readonly live = new Map<string, Track<T>>();
  /** The fastest the belt has been seen to run: a stopped belt may start again up to this speed. */
  private cruise = 0;
  private lastFrame: number | null = null;
  private nextId = 0;
  private confirmedCount = 0;

  constructor(opts: TrackerOptions) {
    if (!(opts.width > 0 && opts.height > 0)) throw new RangeError('tracker picture size must be positive');
    this.o = {
      improveMargin: 0.05,
      improveEveryFrames: 5,
      edgePx: 3,
      cutFactor: 0.5,
      speedWindow: 6,
      minGatePx: 8,
      maxStepFraction: 0.35,
      idPrefix: 't',
      ...opts,
      relabelIou: opts.relabelIou === undefined ? 0.5 : opts.relabelIou,
    };
    this.belt = new Belt(opts.direction, opts.width, opts.height, this.o.edgePx);
    this.speedEstimate = new SpeedEstimate(this.o.speedWindow);
  }

  /** Belt speed in px per frame towards the exit edge; null until measured. */
  speed(): number | null {
    return this.speedEstimate.value();
  }

  tracks(): Array<TrackView<T>> {
    return [...this.live.values()].map(view);
  }

  stats(): { live: number; started: number; confirmed: number } {
    return { live: this.live.size, started: this.nextId, confirmed: this.confirmedCount };
  }

  /** Feeds one screened frame; `frame` must grow. Returns what happened, in order. */
  update(frame: number, detections: readonly T[]): Array<TrackEvent<T>> {
    if (this.lastFrame !== null && frame <= this.lastFrame)
      throw new RangeError(`frame ${frame} is not after frame ${this.lastFrame}`);
    this.lastFrame = frame;
    const v = this.speedEstimate.value();
    const sightings = detections
      .map((det) => ({ det, span: this.belt.toSpan(det.box) }))
      .sort((a, b) => b.det.score - a.det.score);
    const tracks = [...this.live.values()];
    const matched = new Map<Track<T>, Sighting<T>>();
    const used = new Set<number>();

    const sameLabel: Array<Pair<T>> = [];
    for (const track of tracks) {
      sightings.forEach((s, index) => {
        if (s.det.label !== track.label) return;
        const cost = this.cost(track, s.span, frame, v);
        if (cost !== null) sameLabel.push({ track, index, cost });
      });
    }
    this.assign(sameLabel, sightings, matched, used);
    if (this.o.relabelIou !== null)
      this.assign(this.relabelPairs(tracks, sightings, matched, used, frame, v), sightings, matched, used);

    const events: Array<TrackEvent<T>> = [];
    for (const [track, s] of matched) {
      const d = this.belt.displacement(track.span, s.span);
      if (d !== null) {
        track.travel += d;
        if (!this.still(track, frame)) this.speedEstimate.add(frame, d / (frame - track.lastFrame));
      }
      this.observe(track, s, frame);
    }
    this.cruise = Math.max(this.cruise, Math.abs(this.speedEstimate.value() ?? 0));

    for (const track of tracks) {
      if (matched.has(track)) continue;
      track.missed++;
      const predicted = this.belt.shift(track.span, this.step(track, frame, v));
      if (this.gone(predicted)) this.end(track, 'exited', frame, events);
      else if (track.missed > this.o.maxMissed) this.end(track, 'missed', frame, events);
    }

    const claimed = [...matched.values()];
    sightings.forEach((s, index) => {
      if (used.has(index) || !this.mayStart(s, claimed, v)) return;
      claimed.push(s);
      this.birth(s, frame);
    });

    for (const track of this.live.values()) this.report(track, frame, events);
    return events;
  }

  /** Ends every track (stream gap, shutdown); the speed is forgotten, as the belt may have changed. */
  flush(): Array<TrackEvent<T>> {
    const events: Array<TrackEvent<T>> = [];
    const frame = this.lastFrame ?? 0;
    for (const track of [...this.live.values()]) this.end(track, 'flushed', frame, events);
    this.speedEstimate.reset();
    this.cruise = 0;
    return events;
  }

  /**
   * Null when the sighting cannot be this track; otherwise lower is likelier. Along the belt the
   * window is one-way: from a little backwards (jitter, a belt nudged back) to 1.5 × the expected
   * step, or the cruise speed when the belt has been standing. The cost is how far the sighting is
   * from where the belt should have carried the track.
   */
  private cost(track: Track<T>, s: Span, frame: number, v: number | null): number | null {
    const t = track.span;
    const dt = frame - track.lastFrame;
    const sizeU = Math.max(t.u2 - t.u1, s.u2 - s.u1, 1);
    const sizeW = Math.max(t.w2 - t.w1, s.w2 - s.w1, 1);
    const tolU = Math.max(this.o.minGatePx, 0.5 * sizeU);
    const tolW = Math.max(this.o.minGatePx, 0.5 * sizeW);
    const dw = Math.abs((s.w1 + s.w2) / 2 - (t.w1 + t.w2) / 2);
    if (dw > tolW) return null;
    const expect = this.step(track, frame, v);
    const d = this.belt.displacement(t, s);
    if (d === null) {
      const iou = spanIou(this.belt.clip(this.belt.shift(t, expect)), s);
      return iou >= 0.3 ? 1 - iou + dw / sizeW : null;
    }
    // Until the belt has been seen moving (start-up, or the gateway started while it stood), any
    // plausible step: a standing belt's estimate of 0 must not stop it from being seen to start.
    const forward =
      this.cruise > 1
        ? 1.5 * Math.max(expect, this.cruise * dt)
        : this.o.maxStepFraction * this.belt.length * dt;
    const backward = 1.5 * Math.max(0, -expect);
    if (d < -backward - tolU || d > forward + tolU) return null;
    return Math.abs(d - expect) / sizeU + dw / sizeW;
  }

  private relabelPairs(
    tracks: ReadonlyArray<Track<T>>,
    sightings: ReadonlyArray<Sighting<T>>,
    matched: ReadonlyMap<Track<T>, Sighting<T>>,
    used: ReadonlySet<number>,
    frame: number,
    v: number | null,
  ): Array<Pair<T>> {
    const min = this.o.relabelIou ?? 1;
    const pairs: Array<Pair<T>> = [];
    for (const track of tracks) {
      if (matched.has(track)) continue;
      const predicted = this.belt.clip(this.belt.shift(track.span, this.step(track, frame, v)));
      sightings.forEach((s, index) => {
        if (used.has(index) || s.det.category !== track.category) return;
        const iou = spanIou(predicted, s.span);
        if (iou >= min) pairs.push({ track, index, cost: 1 - iou });
      });
    }
    return pairs;
  }

  /** Greedy by cost: with a handful of objects per frame it agrees with an optimal assignment. */
  private assign(
    pairs: Array<Pair<T>>,
    sightings: ReadonlyArray<Sighting<T>>,
    matched: Map<Track<T>, Sighting<T>>,
    used: Set<number>,
  ): void {
    pairs.sort((a, b) => a.cost - b.cost);
    for (const p of pairs) {
      if (matched.has(p.track) || used.has(p.index)) continue;
      matched.set(p.track, sightings[p.index]!);
      used.add(p.index);
    }
  }

  /** Where the belt should have carried the track since its last sighting; nowhere if it never moved. */
  private step(track: Track<T>, frame: number, v: number | null): number {
    return this.still(track, frame) ? 0 : (v ?? 0) * (frame - track.lastFrame);
  }

  /**
   * Has been seen often enough to judge, and has moved less than half a pixel per frame: not on the
   * belt (or the belt stood all its life, when it says nothing about the speed either).
   */
  private still(track: Track<T>, frame: number): boolean {
    return track.hits >= 2 && Math.abs(track.travel) <= 0.5 * (frame - track.firstFrame);
  }

  /**
   * A new track, unless the sighting is a second box on an object already claimed this frame (the
   * detector's NMS is per class, so one object can carry two labels), or an object scrolling out:
   * on a moving belt new objects come in at the entry edge, and a sliver at the exit edge is one
   * whose track has just ended.
   */
  private mayStart(s: Sighting<T>, claimed: ReadonlyArray<Sighting<T>>, v: number | null): boolean {
    if (v !== null && v > 0 && this.belt.exitCut(s.span)) return false;
    const same = this.o.relabelIou ?? 0.5;
    return !claimed.some((c) => c.det.category === s.det.category && spanIou(c.span, s.span) >= same);
  }

  private birth(s: Sighting<T>, frame: number): void {
    const id = `${this.o.idPrefix}${++this.nextId}`;
    const track: Track<T> = {
      id,
      label: s.det.label,
      votes: new Map([[s.det.label, s.det.score]]),
      travel: 0,
      category: s.det.category,
      span: s.span,
      box: s.det.box,
      hits: 1,
      missed: 0,
      confirmed: false,
      firstFrame: frame,
      lastFrame: frame,
      best: this.observation(s, frame),
      reported: null,
    };
    this.live.set(id, track);
  }

  private observe(track: Track<T>, s: Sighting<T>, frame: number): void {
    track.span = s.span;
    track.box = s.det.box;
    track.hits++;
    track.missed = 0;
    track.lastFrame = frame;
    track.votes.set(s.det.label, (track.votes.get(s.det.label) ?? 0) + s.det.score);
    for (const [label, sum] of track.votes)
      if (sum > (track.votes.get(track.label) ?? 0)) track.label = label;
    const o = this.observation(s, frame);
    if (o.quality > track.best.quality) track.best = o;
  }

  private observation(s: Sighting<T>, frame: number): Observation<T> {
    const cut = this.belt.cut(s.span);
    return { frame, det: s.det, cut, quality: s.det.score * (cut ? this.o.cutFactor : 1) };
  }

  private report(track: Track<T>, frame: number, events: Array<TrackEvent<T>>): void {
    if (!track.confirmed) {
      if (track.hits < this.o.minHits) return;
      track.confirmed = true;
      this.confirmedCount++;
      track.reported = { quality: track.best.quality, frame };
      events.push({ type: 'confirmed', frame, track: view(track) });
      return;
    }
    if (frame - (track.reported?.frame ?? frame) < this.o.improveEveryFrames) return;
    this.reportImprovement(track, frame, events);
  }

  private reportImprovement(track: Track<T>, frame: number, events: Array<TrackEvent<T>>): void {
    const last = track.reported;
    if (!track.confirmed || !last || track.best.quality < last.quality + this.o.improveMargin) return;
    track.reported = { quality: track.best.quality, frame };
    events.push({ type: 'improved', frame, track: view(track) });
  }

  /** An improvement still held back by the rate limit goes out before the end: it is the last chance. */
  private end(track: Track<T>, reason: EndReason, frame: number, events: Array<TrackEvent<T>>): void {
    this.reportImprovement(track, frame, events);
    this.live.delete(track.id);
    events.push({ type: 'ended', frame, track: view(track), reason });
  }

  /** Wholly past the exit edge, or (belt running backwards) back out of the entry edge. */
  private gone(s: Span): boolean {
    return this.belt.gone(s) || s.u2 <= this.o.edgePx;
  }
}

function view<T>(t: Track<T>): TrackView<T> {
  return Object.freeze({
    id: t.id,
    label: t.label,
    hits: t.hits,
    missed: t.missed,
    confirmed: t.confirmed,
    firstFrame: t.firstFrame,
    lastFrame: t.lastFrame,
    box: [...t.box] as Box,
    best: t.best,
  });
}
