/**
 * Evidence clips: an alert at a known time against a real RTSP camera yields an MP4 whose duration
 * and start match the request within one segment, and a snapshot; with rings of real segments made
 * by ffmpeg, requests survive a restart, missing video is reported, and the hand-off is at least once.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClipRef, clipRefSchema } from '../../../adapters/mqtt/topics.js';
import { isPgError } from '../../../config/shared/errors.js';
import { ClipService, type ClipServiceOptions, type ClipSource } from '../../../gateway/evidence/clips.js';
import { SegmentRecorder } from '../../../gateway/evidence/recorder.js';
import { evidencePaths } from '../../../gateway/evidence/ring.js';
import { captureLog, waitFor } from '../../adapters/rtsp/helpers.js';
import { ffprobe, makeSampleSegment, RingSource } from '../../support/evidence-media.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';

const root = mkdtempSync(join(tmpdir(), 'pg-clips-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function service(
  dataDir: string,
  sources: Record<string, ClipSource>,
  over: Partial<ClipServiceOptions> = {},
): { svc: ClipService; ready: Array<{ alertId: string; ref: ClipRef; at: number }> } {
  const ready: Array<{ alertId: string; ref: ClipRef; at: number }> = [];
  const svc = new ClipService({
    paths: evidencePaths(dataDir),
    source: (id) => sources[id],
    onReady: (alertId, ref) => {
      ready.push({ alertId, ref, at: Date.now() });
    },
    log: captureLog().log,
    ...over,
  });
  return { svc, ready };
}

describeWithRtsp('ClipService with a real camera', () => {
  const server = useRtspServer({ width: 160, height: 120, fps: 10 });

  it('cuts a clip from t−pre to t+post of an alert at a known time, precise to one segment', async () => {
    const dataDir = join(root, 'live');
    const paths = evidencePaths(dataDir);
    const record = { ringSeconds: 30, segmentSeconds: 1, preSeconds: 2, postSeconds: 2 };
    const rec = new SegmentRecorder({
      id: 'cam-1',
      url: server().url('h264'),
      record,
      dir: paths.ringOf('cam-1'),
      log: captureLog().log,
      timeoutMs: 1500,
    });
    const { svc, ready } = service(dataDir, { 'cam-1': rec });
    await svc.start(new AbortController().signal);
    await rec.start(new AbortController().signal);
    try {
      // Enough ring behind the alert for its pre-roll, past the first segment of the process (which runs
      // from ffmpeg's first packet to the first key frame after a whole segment, so up to two GOPs).
      await waitFor(
        'pre-roll in the ring',
        () => (rec.segments()[1]?.startMs ?? Infinity) < Date.now() - 2500,
        20_000,
      );
      const alertId = ulid();
      const atMs = Date.now();
      await svc.request({ alertId, cameraId: 'cam-1', atMs });
      expect(existsSync(join(paths.clipsOf(alertId), 'cam-1.request.json'))).toBe(true);
      await waitFor('clip ready', () => ready.length === 1, 20_000);

      const { ref, at } = ready[0]!;
      expect(ready[0]!.alertId).toBe(alertId);
      expect(clipRefSchema.parse(ref)).toEqual(ref);
      expect(ref).toMatchObject({
        camera: 'cam-1',
        clip: `/api/v1/alerts/${alertId}/clips/cam-1.mp4`,
        snapshot: `/api/v1/alerts/${alertId}/clips/cam-1.jpg`,
        reason: null,
      });
      expect(at).toBeGreaterThanOrEqual(atMs + 2000); // it waited for the post-roll

      const seg = 1000;
      const from = Date.parse(ref.from);
      const to = Date.parse(ref.to);
      const wantFrom = atMs - 2000;
      const wantTo = atMs + 2000;
      // Whole segments covering the request: the clip starts in the segment that holds t−pre and ends
      // with the one that holds t+post, so it is never shorter and at most one segment longer per end.
      const first = rec.segments().find((x) => x.startMs === from);
      const last = rec.segments().find((x) => x.endMs === to);
      expect(from).toBeLessThanOrEqual(wantFrom);
      expect(first?.endMs).toBeGreaterThan(wantFrom);
      expect(to).toBeGreaterThanOrEqual(wantTo);
      expect(last?.startMs).toBeLessThan(wantTo);
      // And a segment is what was configured (the test camera sends a key frame every second).
      expect(wantFrom - from).toBeLessThan(seg + 100);
      expect(to - wantTo).toBeLessThan(seg + 100);

      const dir = paths.clipsOf(alertId);
      const clip = ffprobe(join(dir, 'cam-1.mp4'));
      expect(clip.streams.map((s) => s.codec_name)).toEqual(['h264']); // stream copy, video only
      const duration = Number(clip.format.duration) * 1000;
      // What the file plays is what the names claim, to a frame (100 ms at 10 fps) or so.
      expect(Math.abs(duration - (to - from))).toBeLessThan(150);
      expect(duration).toBeGreaterThanOrEqual(wantTo - wantFrom - 100);
      expect(duration).toBeLessThan(wantTo - wantFrom + 2 * seg);
      // The wall-clock start travels in the file (MP4 keeps whole seconds).
      const created = Date.parse(clip.format.tags?.creation_time ?? '');
      expect(created).toBe(Math.floor(from / 1000) * 1000);

      const snap = ffprobe(join(dir, 'cam-1.jpg'));
      expect(snap.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 160, height: 120 });
      // The request is retired only after onReady has returned, so it may still be there for a moment.
      await waitFor('request retired', () => !existsSync(join(dir, 'cam-1.request.json')), 5000);
      expect(readdirSync(dir).sort()).toEqual(['cam-1.jpg', 'cam-1.json', 'cam-1.mp4']);
      expect(await svc.refs(alertId)).toEqual([ref]);
    } finally {
      await rec.stop();
      await svc.stop();
    }
  });
});

describe('ClipService durability', () => {
  const sample = makeSampleSegment(join(root, 'sample'));

  it('resumes a request after a restart and pins its video meanwhile', async () => {
    const dataDir = join(root, 'resume');
    const src = new RingSource('cam-1', evidencePaths(dataDir).ringOf('cam-1'), sample, captureLog().log);
    const t0 = Date.now() - 5000;
    src.fill(t0, 5); // t0 … t0+5 s
    const alertId = ulid();
    const first = service(dataDir, { 'cam-1': src });
    await first.svc.start(new AbortController().signal);
    await first.svc.request({ alertId, cameraId: 'cam-1', atMs: t0 + 3500 }); // needs video up to t0+6.5 s
    await first.svc.request({ alertId, cameraId: 'cam-1', atMs: t0 + 3500 }); // a repeat is a no-op
    expect(first.svc.pending()).toBe(1);
    await first.svc.stop();
    expect(first.ready).toEqual([]);

    const second = service(dataDir, { 'cam-1': src });
    await second.svc.start(new AbortController().signal);
    expect(second.svc.pending()).toBe(1);
    // The ring ages out everything, except what the pending clip pinned.
    await src.ring.pruneBefore(Date.now() + 60_000);
    expect(src.segments().map((s) => s.startMs)).toEqual([t0, t0 + 1000, t0 + 2000, t0 + 3000, t0 + 4000]);
    src.fill(t0 + 5000, 2);
    await second.svc.settled();
    expect(second.ready).toHaveLength(1);
    const { ref } = second.ready[0]!;
    expect(ref.clip).toBe(`/api/v1/alerts/${alertId}/clips/cam-1.mp4`);
    expect([Date.parse(ref.from), Date.parse(ref.to)]).toEqual([t0, t0 + 7000]);
    expect(
      Number(ffprobe(join(evidencePaths(dataDir).clipsOf(alertId), 'cam-1.mp4')).format.duration),
    ).toBeCloseTo(7, 1);
    expect(existsSync(join(evidencePaths(dataDir).clipsOf(alertId), 'cam-1.request.json'))).toBe(false);
    await second.svc.stop();
  });

  it('reports a clip with no video as unavailable, and still hands it over', async () => {
    const dataDir = join(root, 'empty');
    const src = new RingSource('cam-2', evidencePaths(dataDir).ringOf('cam-2'), sample, captureLog().log);
    const { svc, ready } = service(dataDir, { 'cam-2': src }, { graceMs: 100 });
    await svc.start(new AbortController().signal);
    const alertId = ulid();
    const atMs = Date.now() - 10_000;
    await svc.request({ alertId, cameraId: 'cam-2', atMs });
    await svc.settled();
    expect(ready).toHaveLength(1);
    expect(ready[0]!.ref).toEqual({
      camera: 'cam-2',
      clip: null,
      snapshot: null,
      from: new Date(atMs - 3000).toISOString(),
      to: new Date(atMs + 3000).toISOString(),
      reason: expect.stringMatching(/^no recorded video covers the requested time: /),
    });
    await expect(svc.request({ alertId, cameraId: 'nope', atMs })).rejects.toSatisfy((e) =>
      isPgError(e, 'CAMERA_UNKNOWN'),
    );
    await expect(svc.request({ alertId: '../../etc', cameraId: 'cam-2', atMs })).rejects.toThrow(/alert id/);
    await svc.stop();
  });

  it('hands a clip over again after a crash in onReady, without cutting it again', async () => {
    const dataDir = join(root, 'again');
    const src = new RingSource('cam-3', evidencePaths(dataDir).ringOf('cam-3'), sample, captureLog().log);
    const t0 = Date.now() - 10_000;
    src.fill(t0, 8);
    const alertId = ulid();
    const failing = service(
      dataDir,
      { 'cam-3': src },
      { onReady: () => Promise.reject(new Error('outbox down')) },
    );
    await failing.svc.start(new AbortController().signal);
    await failing.svc.request({ alertId, cameraId: 'cam-3', atMs: t0 + 4000 });
    await failing.svc.settled();
    await failing.svc.stop();
    const dir = evidencePaths(dataDir).clipsOf(alertId);
    expect(existsSync(join(dir, 'cam-3.request.json'))).toBe(true);
    const stored = (await failing.svc.refs(alertId))[0];
    expect(stored?.clip).toBe(`/api/v1/alerts/${alertId}/clips/cam-3.mp4`);

    // No ffmpeg now: a second cut would fail and give clip null, so an equal ref proves none was made.
    const again = service(dataDir, { 'cam-3': src }, { cut: { ffmpegPath: '/nonexistent/ffmpeg' } });
    await again.svc.start(new AbortController().signal);
    await again.svc.settled();
    expect(again.ready.map((r) => r.ref)).toEqual([stored]);
    expect(existsSync(join(dir, 'cam-3.request.json'))).toBe(false);
    await again.svc.stop();
  });
});
