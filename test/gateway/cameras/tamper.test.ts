import { describe, expect, it } from 'vitest';
import type { VideoFrame } from '../../../adapters/rtsp/reader.js';
import { createLogger } from '../../../config/shared/log.js';
import {
  FROZEN_MAX_CHANGE,
  TamperDetector,
  type TamperEvent,
  type TamperSettings,
} from '../../../gateway/cameras/tamper.js';

const W = 320;
const H = 240;
const STEP_MS = 500; // 2 fps, the default analysis rate
const T0 = Date.parse('2025-03-01T10:00:00Z');
const SETTINGS: TamperSettings = {
  enabled: true,
  blackLevel: 20,
  flatStddev: 6,
  frozenSeconds: 20,
  holdSeconds: 5,
};

/** Deterministic noise, so a failing run can be repeated exactly. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Picture = (x: number, y: number) => number;

/** A still scene with structure: shelves, boxes, a bright door (grey values 40–220). */
const scene: Picture = (x, y) => {
  const shelf = Math.floor(y / 40) % 2 === 0 ? 60 : 140;
  const box = (Math.floor(x / 50) + Math.floor(y / 30)) % 3 === 0 ? 40 : 0;
  const door = x > 240 && y > 60 ? 80 : 0;
  return Math.min(220, shelf + box + door);
};
const flat =
  (level: number): Picture =>
  () =>
    level;

/** rgb24 frame of a picture plus uniform sensor noise of ±`noise` levels per channel. */
function frame(picture: Picture, i: number, noise: number, rand: () => number): VideoFrame {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const base = picture(x, y);
      for (let c = 0; c < 3; c++) {
        const n = noise > 0 ? Math.round((rand() * 2 - 1) * noise) : 0;
        data[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, base + n));
      }
    }
  }
  return { streamId: 'cam-1', seq: i, width: W, height: H, data, receivedAt: T0 + i * STEP_MS };
}

function detector(settings: Partial<TamperSettings> = {}) {
  const events: TamperEvent[] = [];
  const d = new TamperDetector({
    id: 'cam-1',
    settings: { ...SETTINGS, ...settings },
    onEvent: (e) => events.push(e),
    log: createLogger({ level: 'silent' }),
  });
  let i = 0;
  const rand = prng(7);
  /** Feeds `seconds` of a picture at 2 fps; `noise` 0 repeats one identical frame. */
  const feed = async (picture: Picture, seconds: number, noise = 2) => {
    const still = noise === 0 ? frame(picture, 0, 0, rand) : null;
    for (let k = 0; k < seconds * (1000 / STEP_MS); k++, i++) {
      const f = still ? { ...still, seq: i, receivedAt: T0 + i * STEP_MS } : frame(picture, i, noise, rand);
      await d.observe(f);
    }
  };
  const secondsAt = (e: TamperEvent | undefined) => (e ? (e.at - T0) / 1000 : null);
  return { d, events, feed, secondsAt };
}

describe('TamperDetector', () => {
  it('reports nothing for a normal, noisy scene, however still it is', async () => {
    const { d, events, feed } = detector();
    // ±1 level: a quiet, well-lit sensor. Still ~1.6× the frozen window plus hold.
    await feed(scene, 40, 1);
    expect(events).toEqual([]);
    expect(d.conditions()).toEqual([]);
    const m = d.lastMeasure();
    expect(m?.change).toBeGreaterThan(FROZEN_MAX_CHANGE * 3);
    expect(m?.mean).toBeGreaterThan(60);
    expect(m?.stddev).toBeGreaterThan(20);
  });

  it('starts black after the hold and ends it once the picture is back for the hold', async () => {
    const { d, events, feed, secondsAt } = detector();
    await feed(scene, 3);
    await feed(flat(5), 10); // lens blocked in the dark: t = 3 … 13 s
    expect(d.conditions()).toEqual(['black']);
    const start = events.find((e) => e.condition === 'black' && e.state === 'start');
    // Black from t = 3 s, held 5 s: reported on the frame at 8 s.
    expect(secondsAt(start)).toBe(8);
    expect(start?.details.mean).toBeLessThan(20);
    expect(start?.details.heldSeconds).toBe(5);
    await feed(scene, 4);
    expect(d.conditions()).toEqual(['black']); // not yet: the hold applies to the end too
    await feed(scene, 2);
    const end = events.find((e) => e.condition === 'black' && e.state === 'end');
    expect(secondsAt(end)).toBe(18);
    expect(d.conditions()).toEqual([]);
    // Black is not also reported as covered (flat) or frozen (identical dark frames).
    expect(events.map((e) => `${e.condition}:${e.state}`)).toEqual(['black:start', 'black:end']);
  });

  it('reports a flat grey picture as covered, not black', async () => {
    const { d, events, feed } = detector();
    await feed(flat(128), 8, 2); // tape over the lens: bright, featureless, still noisy
    expect(d.conditions()).toEqual(['covered']);
    const start = events[0];
    expect(start).toMatchObject({ condition: 'covered', state: 'start' });
    expect(start?.details.stddev).toBeLessThan(6);
    expect(start?.details.mean).toBeGreaterThan(100);
  });

  it('sees a covered lens through heavy low-light noise (measured on the averaged thumbnail)', async () => {
    const { d, feed } = detector();
    // ±20 per channel: σ ≈ 8 grey levels on the full frame, above flatStddev 6.
    await feed(flat(60), 8, 20);
    expect(d.conditions()).toEqual(['covered']);
  });

  it('calls identical frames frozen after frozenSeconds plus the hold, and ends it on movement', async () => {
    const { d, events, feed, secondsAt } = detector();
    await feed(scene, 2);
    await feed(scene, 30, 0); // the encoder repeats one frame from t = 2 s
    const start = events.find((e) => e.condition === 'frozen' && e.state === 'start');
    // Unchanged since the first repeated frame (t = 2 s) for 20 s, then held 5 s.
    expect(secondsAt(start)).toBe(27);
    expect(start?.details.change).toBe(0);
    expect(start?.details.unchangedSeconds).toBe(25);
    expect(d.conditions()).toEqual(['frozen']);
    await feed(scene, 6);
    expect(events.map((e) => `${e.condition}:${e.state}`)).toEqual(['frozen:start', 'frozen:end']);
    expect(d.conditions()).toEqual([]);
  });

  it('does not call a picture frozen across a gap in the stream', async () => {
    const { d, events } = detector({ frozenSeconds: 4, holdSeconds: 0 });
    const still = frame(scene, 0, 0, prng(1));
    // Two identical frames 60 s apart: the camera was away, not frozen.
    await d.observe({ ...still, receivedAt: T0 });
    await d.observe({ ...still, receivedAt: T0 + 60_000 });
    expect(events).toEqual([]);
    expect(d.lastMeasure()?.change).toBeNull();
  });

  it('ignores flicker shorter than the hold, in both directions', async () => {
    const { d, events, feed } = detector();
    // A black frame every 2 s (a blinking light, a passing hand) never holds for 5 s.
    for (let k = 0; k < 6; k++) {
      await feed(scene, 1.5);
      await feed(flat(5), 0.5);
    }
    expect(events).toEqual([]);
    await feed(flat(5), 6);
    expect(d.conditions()).toEqual(['black']);
    // One bright second inside the black does not end it.
    for (let k = 0; k < 4; k++) {
      await feed(flat(5), 3);
      await feed(scene, 1);
    }
    expect(events.map((e) => `${e.condition}:${e.state}`)).toEqual(['black:start']);
  });

  it('keeps black while the picture hovers just above the threshold (value hysteresis)', async () => {
    const { d, events, feed } = detector({ holdSeconds: 1 });
    await feed(flat(8), 2);
    expect(d.conditions()).toEqual(['black']);
    await feed(flat(21), 4, 0.4); // above blackLevel 20 but within the clear margin
    expect(d.conditions()).toEqual(['black']);
    await feed(scene, 2);
    expect(events.map((e) => `${e.condition}:${e.state}`)).toEqual(['black:start', 'black:end']);
  });

  it('does nothing when disabled, and refuses a frame whose size is wrong', async () => {
    const off = detector({ enabled: false });
    await off.feed(flat(0), 10);
    expect(off.events).toEqual([]);
    const { d } = detector();
    const bad: VideoFrame = {
      streamId: 'cam-1',
      seq: 1,
      width: W,
      height: H,
      data: Buffer.alloc(10),
      receivedAt: T0,
    };
    await expect(d.observe(bad)).rejects.toMatchObject({ code: 'STREAM_CORRUPT' });
    // The detector carries on after a bad frame.
    await d.observe(frame(scene, 2, 2, prng(3)));
    expect(d.lastMeasure()?.mean).toBeGreaterThan(60);
  });

  it('keeps detecting when the event listener throws', async () => {
    const d = new TamperDetector({
      id: 'cam-1',
      settings: { ...SETTINGS, holdSeconds: 0 },
      onEvent: () => {
        throw new Error('listener broke');
      },
      log: createLogger({ level: 'silent' }),
    });
    await d.observe(frame(flat(3), 0, 1, prng(4)));
    expect(d.conditions()).toEqual(['black']);
  });
});
