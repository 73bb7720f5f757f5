/**
 * Readers against a real RTSP server (GStreamer, loopback): frames of the right size at the configured
 * rate, a server killed and restarted, a server frozen with SIGSTOP and thawed.
 */
import { afterEach, expect, it } from 'vitest';
import { liveFfmpegPids } from '../../../adapters/rtsp/ffmpeg-session.js';
import { RtspReader } from '../../../adapters/rtsp/reader.js';
import type { StreamStatus } from '../../../adapters/rtsp/stream-status.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';
import { captureLog, FRAME_BYTES, readerOptions, record, TEST_STREAM, waitFor } from './helpers.js';

const readers: RtspReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.stop()));
  expect(liveFfmpegPids()).toEqual([]);
});

function startReader(id: string, url: string) {
  const rec = record();
  const r = new RtspReader(readerOptions({ id, url, log: captureLog('warn').log, onFrame: rec.onFrame }));
  r.onStatus(rec.onStatus);
  readers.push(r);
  void r.start(new AbortController().signal);
  return { r, rec };
}

/** Consecutive duplicates collapsed: the order of states a listener saw. */
function stateOrder(statuses: StreamStatus[]): string[] {
  return statuses.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
}

describeWithRtsp('RtspReader against a real RTSP server', () => {
  const server = useRtspServer({ width: 320, height: 240, fps: 10 });

  it('goes online and delivers scaled H.264 frames at about the configured rate', async () => {
    const { r, rec } = startReader('cam-h264', server().url('h264'));
    await waitFor('online', () => r.status().state === 'online', 12_000);
    await new Promise((res) => setTimeout(res, 800));
    const before = rec.frames.length;
    await new Promise((res) => setTimeout(res, 3000));
    const got = rec.frames.length - before;
    expect(got).toBeGreaterThanOrEqual(3 * TEST_STREAM.fps * 0.6);
    expect(got).toBeLessThanOrEqual(3 * TEST_STREAM.fps * 1.4);
    for (const f of rec.frames) {
      expect(f).toMatchObject({ streamId: 'cam-h264', width: 160, height: 120 });
      expect(f.data.length).toBe(FRAME_BYTES);
    }
    // The test picture is not black: the bytes are a decoded image, not padding.
    expect(rec.frames.at(-1)?.data.some((b) => b > 40)).toBe(true);
    const s = r.status();
    expect(s).toMatchObject({
      state: 'online',
      reason: null,
      code: null,
      dropped: 0,
      reconnects: 0,
      targetFps: 5,
    });
    expect(s.fps).toBeGreaterThan(TEST_STREAM.fps * 0.6);
    expect(s.fps).toBeLessThan(TEST_STREAM.fps * 1.4);
    expect(Date.now() - Date.parse(s.lastSeenAt ?? '')).toBeLessThan(1500);
  });

  it('reads MJPEG too', async () => {
    const { r, rec } = startReader('cam-mjpeg', server().url('mjpeg'));
    await waitFor('three frames', () => rec.frames.length >= 3, 12_000);
    expect(r.status().state).toBe('online');
    expect(rec.frames.every((f) => f.data.length === FRAME_BYTES)).toBe(true);
  });

  it('goes offline within the timeout when the server is killed, and back online after a restart', async () => {
    const { r, rec } = startReader('cam-kill', server().url('h264'));
    await waitFor('online', () => r.status().state === 'online', 12_000);
    await server().kill();
    const down = await waitFor('offline', () => r.status().state === 'offline', 5000);
    expect(down).toBeLessThan(1500);
    expect(r.status().code).toBe('STREAM_DISCONNECTED');
    // While the server is away, attempts are refused.
    await waitFor('refused', () => r.status().code === 'STREAM_UNREACHABLE', 5000);
    expect(r.status().reason).toBe('connection refused');
    const framesBefore = rec.frames.length;
    await server().restart();
    await waitFor('online again', () => r.status().state === 'online', 12_000);
    await waitFor('new frames', () => rec.frames.length > framesBefore + 2, 5000);
    expect(stateOrder(rec.statuses)).toEqual(['offline', 'online', 'offline', 'online']);
    const reasons = rec.statuses.map((s) => s.code ?? s.reason);
    expect(reasons).toEqual(['connecting', null, 'STREAM_DISCONNECTED', 'STREAM_UNREACHABLE', null]);
    expect(r.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('detects a frozen server (SIGSTOP) as stalled within the timeout and recovers after SIGCONT', async () => {
    const { r, rec } = startReader('cam-stall', server().url('h264'));
    await waitFor('online', () => r.status().state === 'online', 12_000);
    server().pause();
    try {
      const stalled = await waitFor('stalled', () => r.status().state === 'offline', 6000);
      // Within the 1.5 s timeout: stallMs = max(3 frame intervals, 0.75 × 1.5 s) = 1.125 s, checked every
      // 281 ms; the margin is for a loaded test machine.
      expect(stalled).toBeLessThan(1500 + 500);
      expect(r.status().code).toBe('STREAM_STALLED');
    } finally {
      server().resume();
    }
    await waitFor('online again', () => r.status().state === 'online', 15_000);
    expect(stateOrder(rec.statuses)).toEqual(['offline', 'online', 'offline', 'online']);
  });
});
