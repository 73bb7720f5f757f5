/**
 * The segment recorder against a real RTSP server (GStreamer, H.264) with real ffmpeg: segments named
 * by wall-clock time, the ring cut to its length, reconnects after the camera dies, the ring read
 * back after a restart; and, with fake ffmpeg scripts, the stall and start-up verdicts.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { liveEvidencePids } from '../../../gateway/evidence/ffmpeg-process.js';
import { SegmentRecorder, type SegmentRecorderOptions } from '../../../gateway/evidence/recorder.js';
import type { RecorderStatus } from '../../../gateway/evidence/recorder-status.js';
import { captureLog, fakeFfmpegDir, waitFor } from '../../adapters/rtsp/helpers.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';

const CREDS = { username: 'viewer', password: 'S3cret-pass' };
const RECORD = { ringSeconds: 4, segmentSeconds: 1, preSeconds: 2, postSeconds: 2 };
const root = mkdtempSync(join(tmpdir(), 'pg-recorder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const running: SegmentRecorder[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  expect(liveEvidencePids()).toEqual([]);
});

function recorder(over: Partial<SegmentRecorderOptions> & Pick<SegmentRecorderOptions, 'url' | 'dir'>) {
  const cap = captureLog();
  const statuses: RecorderStatus[] = [];
  const rec = new SegmentRecorder({
    id: 'cam-1',
    record: RECORD,
    log: cap.log,
    timeoutMs: 1500,
    backoff: { initialMs: 150, maxMs: 600, jitter: 0.1 },
    killGraceMs: 500,
    ...over,
  });
  rec.onStatus((s) => statuses.push(s));
  running.push(rec);
  return { rec, cap, statuses };
}

describeWithRtsp('SegmentRecorder (real RTSP)', () => {
  const server = useRtspServer({ width: 160, height: 120, fps: 10, auth: CREDS });

  it('records 1-s segments named by their wall-clock span and keeps only the ring', async () => {
    const dir = join(root, 'ring-a');
    const { rec, cap } = recorder({ url: server().url('h264', CREDS), dir });
    const seen: Array<{ name: string; at: number; endMs: number }> = [];
    rec.onSegment((s) => seen.push({ name: s.name, at: Date.now(), endMs: s.endMs }));
    await rec.start(new AbortController().signal);
    await waitFor('7 segments', () => seen.length >= 7, 20_000);

    const segs = rec.segments();
    // Back to back within one ffmpeg process, each about a segment long (the first may be longer:
    // ffmpeg starts at the first packet, the first cut waits for a key frame).
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.startMs).toBe(segs[i - 1]!.endMs);
    for (const s of segs.slice(1)) expect(s.endMs - s.startMs).toBeGreaterThan(800);
    for (const s of segs.slice(1)) expect(s.endMs - s.startMs).toBeLessThan(1200);
    // A segment ends when the next key frame arrives and is published right after: its end is in
    // the recent past when we hear of it (the first waits for a second observation: up to ~1 s more).
    for (const s of seen.slice(1)) {
      expect(s.at - s.endMs).toBeGreaterThanOrEqual(-50);
      expect(s.at - s.endMs).toBeLessThan(1000);
    }
    // The ring: nothing that ended more than ringSeconds ago (plus a prune tick) is left.
    expect(segs[0]!.endMs).toBeGreaterThan(Date.now() - RECORD.ringSeconds * 1000 - 500);
    expect(segs.length).toBeLessThanOrEqual(RECORD.ringSeconds + 2);
    const onDisk = readdirSync(dir).filter((n) => !n.startsWith('raw-'));
    expect(onDisk.sort()).toEqual(segs.map((s) => s.name).sort());
    expect(rec.status()).toMatchObject({ state: 'online', reason: null, code: null });
    expect(rec.status().heldSeconds).toBeGreaterThan(2);

    rec.setQuotaLimited(true);
    expect(rec.status()).toMatchObject({ state: 'degraded', code: 'EVIDENCE_QUOTA' });
    expect(rec.status().reason).toBe(`ring held below its ${RECORD.ringSeconds} s by the evidence quota`);
    rec.setQuotaLimited(false);
    expect(rec.status().state).toBe('online');

    await rec.stop();
    expect(rec.status()).toMatchObject({ state: 'offline', reason: 'stopped' });
    expect(readdirSync(dir).filter((n) => n.startsWith('raw-'))).toEqual([]);
    expect(cap.text()).not.toContain(CREDS.password);
    expect(cap.text()).toContain('rtsp://***@127.0.0.1');
  });

  it('reconnects when the camera dies and comes back; a restart reads the ring back from disk', async () => {
    const dir = join(root, 'ring-b');
    const first = recorder({ url: server().url('h264', CREDS), dir, record: { ...RECORD, ringSeconds: 60 } });
    await first.rec.start(new AbortController().signal);
    await waitFor('segments', () => first.rec.segments().length >= 2, 20_000);

    await server().kill();
    await waitFor('offline', () => first.rec.status().state === 'offline', 5000);
    expect(first.statuses.some((s) => s.code === 'STREAM_DISCONNECTED')).toBe(true);
    const before = first.rec.segments().length;
    await server().restart();
    await waitFor('new segments', () => first.rec.segments().length >= before + 2, 20_000);
    expect(first.rec.status().state).toBe('online');
    expect(first.rec.status().reconnects).toBeGreaterThanOrEqual(1);
    const segs = first.rec.segments();
    const sessions = [...new Set(segs.map((s) => s.session))];
    expect(sessions).toEqual([1, 2]); // the reconnect is a new session: a discontinuity in HLS
    expect(segs.map((s) => s.seq)).toEqual(segs.map((_, i) => i + 1));
    await first.rec.stop();

    // A process killed mid-segment leaves a raw file with no known time: the restart deletes it.
    writeFileSync(join(dir, 'raw-1-1-000009.ts'), 'x');
    const second = recorder({
      url: server().url('h264', CREDS),
      dir,
      record: { ...RECORD, ringSeconds: 60 },
    });
    await second.rec.start(new AbortController().signal);
    await waitFor('recording again', () => second.rec.segments().length > segs.length, 20_000);
    const again = second.rec.segments();
    expect(again.slice(0, segs.length).map((s) => s.name)).toEqual(segs.map((s) => s.name));
    expect(again[segs.length]).toMatchObject({ seq: segs.length + 1, session: 3 });
    expect(readdirSync(dir)).not.toContain('raw-1-1-000009.ts');
  });
});

describe('SegmentRecorder supervision (fake ffmpeg)', () => {
  const fake = fakeFfmpegDir();
  const URL = 'rtsp://viewer:S3cret-pass@127.0.0.1:9/h264';

  it('calls a process that stops delivering segments stalled, keeping what it finished', async () => {
    // Writes two raw segments, reports the first, then goes quiet.
    const path = fake(
      'one-segment-then-quiet',
      [
        'for last; do :; done',
        'f0=$(printf "$last" 0); f1=$(printf "$last" 1)',
        'head -c 2000 /dev/zero > "$f0"; head -c 500 /dev/zero > "$f1"',
        'echo "$(basename "$f0"),0.000000,1.000000"',
        'exec sleep 30',
      ].join('\n'),
    );
    const dir = join(root, 'ring-stall');
    const { rec } = recorder({ url: URL, dir, ffmpegPath: path, stallMs: 600 });
    await rec.start(new AbortController().signal);
    await waitFor('stall verdict', () => rec.status().code === 'STREAM_STALLED', 5000);
    expect(rec.status().reason).toBe('no new segment for 0.6 s');
    await waitFor('segment kept', () => rec.segments().length >= 1, 3000);
    expect(rec.segments()[0]).toMatchObject({ seq: 1, session: 1, bytes: 2000 });
    await rec.stop();
    expect(readdirSync(dir).filter((n) => n.startsWith('raw-'))).toEqual([]);
  });

  it('calls a process that never delivers a segment unreachable, and a missing ffmpeg unavailable', async () => {
    const silent = recorder({
      url: URL,
      dir: join(root, 'ring-silent'),
      ffmpegPath: fake('silent', 'exec sleep 30'),
      startupMs: 500,
    });
    await silent.rec.start(new AbortController().signal);
    await waitFor('startup verdict', () => silent.rec.status().code === 'STREAM_UNREACHABLE', 5000);
    await silent.rec.stop();

    const missing = recorder({
      url: URL,
      dir: join(root, 'ring-missing'),
      ffmpegPath: '/nonexistent/ffmpeg',
    });
    await missing.rec.start(new AbortController().signal);
    await waitFor('retries', () => missing.rec.status().reconnects >= 1, 5000);
    expect(missing.rec.status()).toMatchObject({ state: 'offline', code: 'FFMPEG_UNAVAILABLE' });
    await missing.rec.stop();
  });
});
