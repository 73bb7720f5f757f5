import { describe, expect, it } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import { DisplayTracker, type TrackEvent } from '../../../gateway/display/tracker.js';
import { type Det, expectNoSwaps, H, objOf, run, shrink, W } from './belt-sim.js';

describe('DisplayTracker: one track per threat', () => {
  it('one object crossing the picture is one track, confirmed once, best seen whole, ended on exit', () => {
    const r = run([{ label: 'knife', lead: 0, length: 60, w1: 100, w2: 140 }], 40);
    expect(r.confirmed).toHaveLength(1);
    expect(r.ended).toHaveLength(1);
    const end = r.ended[0]!;
    expect(end.type === 'ended' && end.reason).toBe('exited');
    expect(end.track.best.cut).toBe(false);
    expect(end.track.best.det.score).toBeCloseTo(0.8);
    // Confirmed while still scrolling in (cut), so a whole sighting later is an improvement.
    expect(r.confirmed[0]!.track.best.cut).toBe(true);
    expect(r.events.filter((e) => e.type === 'improved').length).toBeGreaterThanOrEqual(1);
    expect(r.speed).toBeCloseTo(20);
  });

  it('a detector that flickers for up to maxMissed frames does not split the track', () => {
    const missing = new Set([3, 5, 6, 9, 10, 11, 12, 15, 20, 21]);
    const r = run([{ label: 'gun', lead: 0, length: 80, w1: 60, w2: 120 }], 40, {
      drop: (f) => missing.has(f),
    });
    expect(r.confirmed).toHaveLength(1);
    expect(r.events.filter((e) => e.type === 'ended')).toHaveLength(1);
  });

  it('a single spurious detection never confirms', () => {
    const r = run([{ label: 'gun', lead: 100, length: 40, w1: 60, w2: 100 }], 30, { drop: (f) => f !== 7 });
    expect(r.confirmed).toHaveLength(0);
    expect(r.tracker.stats().started).toBe(1);
  });

  it('two threats side by side across the belt stay two tracks', () => {
    const r = run(
      [
        { label: 'knife', lead: 0, length: 60, w1: 40, w2: 80 },
        { label: 'knife', lead: 4, length: 60, w1: 90, w2: 130 },
      ],
      40,
      { drop: (f, i) => i === 0 && (f === 8 || f === 9) },
    );
    expect(r.confirmed).toHaveLength(2);
    expectNoSwaps(r);
    expect(new Set(r.ended.map(objOf))).toEqual(new Set([0, 1]));
  });

  it('two threats one behind the other along the belt stay two tracks', () => {
    const r = run(
      [
        { label: 'knife', lead: 0, length: 50, w1: 100, w2: 140 },
        { label: 'knife', lead: -70, length: 50, w1: 102, w2: 142 },
      ],
      45,
      { drop: (f, i) => i === 0 && f >= 10 && f <= 12 },
    );
    expect(r.confirmed).toHaveLength(2);
    expectNoSwaps(r);
    for (const e of r.ended) expect(e.type === 'ended' && e.reason).toBe('exited');
    expect(new Set(r.ended.map(objOf))).toEqual(new Set([0, 1]));
  });

  it('the same label in consecutive parcels is one track per parcel, also when the first flickers', () => {
    const r = run(
      [
        { label: 'battery', lead: 0, length: 40, w1: 150, w2: 180 },
        { label: 'battery', lead: -260, length: 40, w1: 150, w2: 180 },
      ],
      60,
      { drop: (f, i) => i === 0 && f >= 14 && f <= 17 },
    );
    expect(r.confirmed).toHaveLength(2);
    expectNoSwaps(r);
    expect(r.confirmed.map(objOf)).toEqual([0, 1]);
  });

  it('keeps a whole sighting as the best even when a cut one scored higher', () => {
    const r = run([{ label: 'knife', lead: 0, length: 60, w1: 100, w2: 140 }], 40, {
      edit: (_f, dets) => dets.map((d) => ({ ...d, score: d.box[0] <= 0 || d.box[2] >= W ? 0.9 : 0.7 })),
    });
    expect(r.ended).toHaveLength(1);
    expect(r.ended[0]!.track.best.cut).toBe(false);
    expect(r.ended[0]!.track.best.det.score).toBeCloseTo(0.7);
  });

  it('a flickering label (knife ↔ scissors) and a second box on the same object are one track', () => {
    const r = run([{ label: 'knife', lead: 0, length: 70, w1: 100, w2: 150 }], 40, {
      edit: (f, dets) =>
        dets.flatMap((d) => {
          if (f % 3 === 1) return [{ ...d, label: 'scissors', score: 0.6 }];
          if (f % 4 === 0) return [d, { ...d, label: 'scissors', score: 0.5, box: shrink(d.box, 3) }];
          return [d];
        }),
    });
    expect(r.confirmed).toHaveLength(1);
    expect(r.tracker.stats().started).toBe(1);
  });

  it('a track lost for longer than maxMissed ends as missed', () => {
    const r = run([{ label: 'gun', lead: 200, length: 60, w1: 60, w2: 120 }], 14, {
      drop: (f) => f >= 4,
    });
    expect(r.ended).toHaveLength(1);
    const e = r.ended[0]!;
    expect(e.type === 'ended' && e.reason).toBe('missed');
    expect(e.frame).toBe(8);
  });

  it('rate-limits improvements and still reports a held-back one at the end', () => {
    // The score climbs every frame; improvements may only come every 5 frames.
    const tracker = new DisplayTracker<Det>({
      direction: 'left',
      width: W,
      height: H,
      minHits: 2,
      maxMissed: 2,
    });
    const events: Array<TrackEvent<Det>> = [];
    for (let f = 0; f < 13; f++) {
      const box: Box = [300 - f, 100, 360 - f, 140];
      events.push(
        ...tracker.update(f, [{ label: 'gun', category: 'prohibited', score: 0.3 + 0.05 * f, box, obj: 0 }]),
      );
    }
    events.push(...tracker.flush());
    const frames = events.filter((e) => e.type !== 'ended').map((e) => [e.type, e.frame]);
    expect(frames).toEqual([
      ['confirmed', 1],
      ['improved', 6],
      ['improved', 11],
      ['improved', 12],
    ]);
    const last = events.filter((e) => e.type === 'improved').at(-1)!;
    expect(last.track.best.det.score).toBeCloseTo(0.9);
  });

  for (const dir of ['right', 'up', 'down'] as const) {
    it(`works the same for a belt scrolling ${dir}`, () => {
      const r = run(
        [
          { label: 'knife', lead: 0, length: 50, w1: 40, w2: 80 },
          { label: 'knife', lead: -120, length: 50, w1: 40, w2: 80 },
        ],
        dir === 'right' ? 40 : 25,
        { dir, drop: (f, i) => i === 0 && f === 4 },
      );
      expect(r.confirmed).toHaveLength(2);
      expectNoSwaps(r);
      for (const e of r.ended) expect(e.type === 'ended' && e.reason).toBe('exited');
    });
  }

  it('rejects frames that do not move forward', () => {
    const t = new DisplayTracker<Det>({ direction: 'left', width: W, height: H, minHits: 2, maxMissed: 4 });
    t.update(5, []);
    expect(() => t.update(5, [])).toThrow(RangeError);
  });
});
