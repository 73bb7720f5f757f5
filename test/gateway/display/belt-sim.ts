import { expect } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import {
  type BeltDirection,
  DisplayTracker,
  type TrackEvent,
  type TrackerOptions,
} from '../../../gateway/display/tracker.js';

/**
 * Synthetic belts: objects painted on a strip that scrolls past a 560 × 280 picture. `offset(f)` is
 * how far the belt has moved at frame f; an object's box is its strip box moved by that and clipped
 * to the picture, the way a detector sees an object that is scrolling in or out.
 */
export const W = 560;
export const H = 280;

export interface Obj {
  label: string;
  category?: string;
  /** Strip position along the motion (u) of its leading end at offset 0; negative: not yet in. */
  lead: number;
  length: number;
  w1: number;
  w2: number;
  score?: number;
}

export interface Det {
  label: string;
  category: string;
  score: number;
  box: Box;
  obj: number;
}

function boxOf(o: Obj, offset: number, dir: BeltDirection): Box | null {
  const u2 = o.lead + offset;
  const u1 = u2 - o.length;
  const length = dir === 'left' || dir === 'right' ? W : H;
  const c1 = Math.max(0, u1);
  const c2 = Math.min(length, u2);
  if (c2 - c1 < 2) return null;
  switch (dir) {
    case 'right':
      return [c1, o.w1, c2, o.w2];
    case 'left':
      return [W - c2, o.w1, W - c1, o.w2];
    case 'down':
      return [o.w1, c1, o.w2, c2];
    case 'up':
      return [o.w1, H - c2, o.w2, H - c1];
  }
}

export interface Run {
  events: Array<TrackEvent<Det>>;
  confirmed: Array<TrackEvent<Det>>;
  ended: Array<TrackEvent<Det>>;
  tracker: DisplayTracker<Det>;
  /** Belt speed before the final flush. */
  speed: number | null;
  /** Objects each track was matched to, frame by frame: one each when no track swapped objects. */
  followed: Map<string, Set<number>>;
}

export function run(
  objects: Obj[],
  frames: number,
  opts: {
    dir?: BeltDirection;
    offset?: (f: number) => number;
    /** Drop object i's detection at frame f. */
    drop?: (f: number, i: number) => boolean;
    /** Edit the detections of a frame (label flicker, extra boxes). */
    edit?: (f: number, dets: Det[]) => Det[];
    step?: number;
    /** Called after each frame's update. */
    after?: (f: number, tracker: DisplayTracker<Det>) => void;
    tracker?: Partial<TrackerOptions>;
  } = {},
): Run {
  const dir = opts.dir ?? 'left';
  const offset = opts.offset ?? ((f: number) => 20 * f);
  const tracker = new DisplayTracker<Det>({
    direction: dir,
    width: W,
    height: H,
    minHits: 2,
    maxMissed: 4,
    ...opts.tracker,
  });
  const events: Array<TrackEvent<Det>> = [];
  const followed = new Map<string, Set<number>>();
  for (let f = 0; f < frames; f += opts.step ?? 1) {
    let dets: Det[] = [];
    objects.forEach((o, i) => {
      const box = boxOf(o, offset(f), dir);
      if (!box || opts.drop?.(f, i)) return;
      const cut = dir === 'left' || dir === 'right' ? box[0] <= 0 || box[2] >= W : box[1] <= 0 || box[3] >= H;
      const score = (o.score ?? 0.8) * (cut ? 0.7 : 1);
      dets.push({ label: o.label, category: o.category ?? 'prohibited', score, box, obj: i });
    });
    if (opts.edit) dets = opts.edit(f, dets);
    events.push(...tracker.update(f, dets));
    opts.after?.(f, tracker);
    for (const t of tracker.tracks()) {
      if (t.lastFrame !== f) continue;
      const seen = dets.find((d) => d.box.every((v, k) => v === t.box[k]));
      if (seen) followed.set(t.id, (followed.get(t.id) ?? new Set()).add(seen.obj));
    }
  }
  const speed = tracker.speed();
  events.push(...tracker.flush());
  return {
    speed,
    followed,
    events,
    confirmed: events.filter((e) => e.type === 'confirmed'),
    ended: events.filter((e) => e.type === 'ended' && e.track.confirmed),
    tracker,
  };
}

/** The object a track followed: every observation it kept as best belongs to one object. */
export const objOf = (e: TrackEvent<Det>) => e.track.best.det.obj;

/** Every track stayed on one object for its whole life. */
export function expectNoSwaps(r: Run): void {
  for (const [id, objs] of r.followed) expect([...objs], `track ${id}`).toHaveLength(1);
}

export function boxIou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih;
  return union > 0 ? (iw * ih) / union : 0;
}

export function shrink(b: Box, by: number): Box {
  return [b[0] + by, b[1] + by, b[2] - by, b[3] - by];
}
