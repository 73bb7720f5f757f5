import { describe, expect, it } from 'vitest';
import type { Box, Detection } from '../../../config/shared/types.js';
import { LabelPolicy } from '../../../gateway/alerts/rules.js';
import { DisplayScreener, type DisplayScreenerOptions } from '../../../gateway/display/screener.js';
import { captureLog, detection, frame, modelConfig, RecordingSink, ScriptedDetector } from './helpers.js';

/** 200 × 120 frames; the ROI (20 %…100 % … ) cuts a 160 × 60 picture at (20, 30). */
const GEOM = { width: 200, height: 120, roi: { left: 20, top: 30, width: 160, height: 60 } };
const DISPLAY = {
  roi: { x: 0.1, y: 0.25, width: 0.8, height: 0.5 },
  direction: 'left' as const,
  minHits: 2,
  maxMissed: 2,
};
const POLICY = new LabelPolicy([
  modelConfig('m', [{ name: 'knife' }, { name: 'gun' }, { name: 'battery', alarm: false }]),
]);

/** A knife scrolling left through the 160-px crop at 15 px/frame, scores rising while it is whole. */
function knifeAt(i: number, label = 'knife', w: readonly [number, number] = [20, 40]): Detection[] {
  const x2 = 160 + 30 - 15 * i;
  const x1 = x2 - 30;
  if (x2 <= 2 || x1 >= 158) return [];
  const box: Box = [Math.max(0, x1), w[0], Math.min(160, x2), w[1]];
  const cut = box[0] === 0 || box[2] === 160;
  return [detection(label, box, cut ? 0.4 : 0.5 + 0.02 * i)];
}

function setup(script: Array<Detection[] | Error>, over: Partial<DisplayScreenerOptions> = {}) {
  const detector = new ScriptedDetector(script);
  const sink = new RecordingSink();
  const cap = captureLog();
  const screener = new DisplayScreener({
    cameraId: 'disp-1',
    models: ['m'],
    display: DISPLAY,
    detector,
    policy: POLICY,
    sink,
    log: cap.log,
    ...over,
  });
  return { detector, sink, screener, lines: cap.lines };
}

async function feed(
  screener: DisplayScreener,
  from: number,
  to: number,
  receivedAt?: (seq: number) => number,
) {
  for (let seq = from; seq <= to; seq++) await screener.consume(frame(seq, GEOM, receivedAt?.(seq)));
}

describe('DisplayScreener', () => {
  it('crops the ROI, runs the models on it, and raises one alert per threat with its best frame', async () => {
    const script = Array.from({ length: 16 }, (_, i) => knifeAt(i));
    const { detector, sink, screener } = setup(script);
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 16);
    await screener.stop();

    // Exactly the ROI went to the models: its size, and only ROI pixels (value 7).
    const call = detector.calls[0]!;
    expect([call.width, call.height, call.view, call.models]).toEqual([160, 60, 'display', ['m']]);
    expect(call.data.length).toBe(160 * 60 * 3);
    expect(call.data.every((b) => b === 7)).toBe(true);

    expect(sink.raised).toHaveLength(1);
    const r = sink.raised[0]!;
    expect(r.cameraId).toBe('disp-1');
    expect(r.trackId).toMatch(/^disp-1-/);
    expect([r.frame.width, r.frame.height, r.frame.rgb.length]).toEqual([160, 60, 160 * 60 * 3]);
    expect(r.items).toHaveLength(1);
    expect(r.items[0]!.view).toBe('display');
    // Raised on the second sighting (frame 3); the best so far is the first (both cut, equal score).
    expect(r.frameSeq).toBe(2);
    expect(r.at).toBe(1_000_000 + 200);

    // Improvements end with the best whole sighting: the highest score before it scrolled out.
    expect(sink.improved.length).toBeGreaterThanOrEqual(1);
    const best = sink.latest().get(r.alertId)!;
    expect(best.items[0]!.score).toBeCloseTo(0.5 + 0.02 * 10);
    expect(best.frameSeq).toBe(11);
    for (const i of sink.improved) expect(i.alertId).toBe(r.alertId);

    const c = screener.counters();
    expect(c).toMatchObject({ frames: 16, failed: 0, tracks: 1, confirmed: 1, alertsRaised: 1, muted: 0 });
    expect(c.alertsImproved).toBe(sink.improved.length);
    expect(c.detections).toBe(script.flat().length);
    expect(c.speedPxPerFrame).toBeNull(); // flushed by stop
  });

  it('tracks only what the label policy alarms on; unknown labels alarm', async () => {
    const script = Array.from({ length: 6 }, (_, i) => [
      ...knifeAt(i + 3, 'battery', [0, 15]),
      ...knifeAt(i + 3, 'swapped-in-label', [35, 55]),
    ]);
    const { sink, screener } = setup(script);
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 6);
    await screener.stop();
    expect(sink.raised.map((r) => r.items[0]!.label)).toEqual(['swapped-in-label']);
    expect(screener.counters()).toMatchObject({ detections: 12, alarmDetections: 6, tracks: 1 });
  });

  it('mutes alerts under TIP: confirmed during TIP, or first seen during TIP, never alerts', async () => {
    const second = (i: number) => knifeAt(i, 'gun', [42, 58]);
    const script: Detection[][] = [
      ...Array.from({ length: 5 }, (_, i) => knifeAt(i + 4)), // frames 1–5: knife, TIP on
      ...Array.from({ length: 8 }, (_, i) => knifeAt(i + 9)), // frames 6–13: knife scrolls out, TIP off
      ...Array.from({ length: 6 }, (_, i) => second(i + 3)), // frames 14–19: a gun, TIP off
    ];
    const { sink, screener, lines } = setup(script, { display: { ...DISPLAY, minHits: 3 } });
    await screener.start(new AbortController().signal);
    screener.setTip(true, 'machine');
    expect(screener.tip()).toBe(true);
    await feed(screener, 1, 1); // knife first seen under TIP…
    screener.setTip(false);
    await feed(screener, 2, 19); // …and confirmed after it: still muted
    await screener.stop();
    expect(sink.raised.map((r) => r.items[0]!.label)).toEqual(['gun']);
    expect(screener.counters()).toMatchObject({ confirmed: 2, muted: 1, alertsRaised: 1, tip: false });
    expect(lines().some((l) => l.msg === 'TIP on: display alerts muted')).toBe(true);

    const again = setup(Array.from({ length: 8 }, (_, i) => knifeAt(i + 3)));
    await again.screener.start(new AbortController().signal);
    again.screener.setTip(true);
    await feed(again.screener, 1, 8);
    await again.screener.stop();
    expect(again.sink.raised).toHaveLength(0);
    expect(again.screener.counters().muted).toBe(1);
  });

  it('a failed raise is tried again with the next better frame; stop waits for the sink', async () => {
    const { sink, screener } = setup(Array.from({ length: 14 }, (_, i) => knifeAt(i)));
    sink.failRaises = 1;
    sink.delayMs = 20;
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 14);
    await screener.stop();
    expect(sink.raised).toHaveLength(1);
    expect(sink.raised[0]!.frameSeq).toBeGreaterThan(1);
    expect(screener.counters()).toMatchObject({ alertsRaised: 1, sinkErrors: 1 });
  });

  it('a detector failure skips the frame without counting it as a miss, and warns once', async () => {
    const boom = new Error('worker crashed');
    const script = [knifeAt(4), boom, boom, boom, knifeAt(8), knifeAt(9), knifeAt(10)];
    const { sink, screener, lines } = setup(script);
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 7);
    await screener.stop();
    // maxMissed is 2: three failed frames as misses would have split the knife into two tracks.
    expect(screener.counters()).toMatchObject({ frames: 4, failed: 3, tracks: 1, alertsRaised: 1 });
    expect(sink.raised).toHaveLength(1);
    expect(
      lines().filter((l) => l.level === 40 && String(l.msg).startsWith('display frame not screened')),
    ).toHaveLength(1);
  });

  it('skips frames while stopped and frames out of order; a long gap in the stream ends the tracks', async () => {
    const script = [
      ...Array.from({ length: 3 }, (_, i) => knifeAt(i + 3)),
      ...Array.from({ length: 3 }, (_, i) => knifeAt(i + 6)),
    ];
    const { sink, screener } = setup(script, { gapResetMs: 1000 });
    await screener.consume(frame(1, GEOM)); // not started yet
    await screener.start(new AbortController().signal);
    await feed(screener, 2, 4);
    await screener.consume(frame(3, GEOM)); // older than the last one
    // Ten seconds later (a reconnect): the same belt position is a new picture.
    await feed(screener, 5, 7, (seq) => 1_000_000 + seq * 100 + 10_000);
    await screener.stop();
    expect(screener.counters()).toMatchObject({ skipped: 2, frames: 6, tracks: 2 });
    expect(sink.raised).toHaveLength(2);
    await screener.consume(frame(9, GEOM));
    expect(screener.counters().skipped).toBe(3);
  });

  it('starts afresh after a stop: a new reader numbering frames from 1 is screened', async () => {
    const { detector, sink, screener } = setup(Array.from({ length: 8 }, (_, i) => knifeAt((i % 4) + 3)));
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 4);
    await screener.stop();
    await screener.start(new AbortController().signal);
    await feed(screener, 1, 4);
    await screener.stop();
    expect(detector.calls).toHaveLength(8);
    expect(sink.raised).toHaveLength(2);
    expect(new Set(sink.raised.map((r) => r.trackId)).size).toBe(2);
  });
});
