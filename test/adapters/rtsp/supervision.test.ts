/**
 * The supervisor's verdicts, driven by fake ffmpeg scripts so that each failure is exact and quick:
 * exit 0 after frames, output ending inside a frame, a process that goes quiet, one that never starts,
 * and one that ignores SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { liveFfmpegPids } from '../../../adapters/rtsp/ffmpeg-session.js';
import { RtspReader } from '../../../adapters/rtsp/reader.js';
import { alive, captureLog, FRAME_BYTES, fakeFfmpegDir, readerOptions, record, waitFor } from './helpers.js';

const fake = fakeFfmpegDir();
const URL = 'rtsp://viewer:pa55word-x@127.0.0.1:9/h264';

function reader(ffmpegPath: string, extra: Partial<ConstructorParameters<typeof RtspReader>[0]> = {}) {
  const cap = captureLog();
  const rec = record();
  const r = new RtspReader(
    readerOptions({ id: 'cam-fake', url: URL, log: cap.log, ffmpegPath, onFrame: rec.onFrame, ...extra }),
  );
  r.onStatus(rec.onStatus);
  return { r, rec, cap };
}

describe('RtspReader supervision (fake ffmpeg)', () => {
  it('treats exit 0 as a disconnect, reconnects with backoff and counts reconnects', async () => {
    const path = fake('frames-then-exit0', `head -c ${FRAME_BYTES * 3} /dev/zero; sleep 0.2; exit 0`);
    const { r, rec } = reader(path);
    await r.start(new AbortController().signal);
    await waitFor('two reconnects', () => r.status().reconnects >= 2, 10_000);
    await r.stop();
    const states = rec.statuses.map((s) => s.state);
    expect(states.slice(0, 3)).toEqual(['offline', 'online', 'offline']);
    const down = rec.statuses.find((s) => s.code === 'STREAM_DISCONNECTED');
    expect(down?.reason).toBe('camera ended the stream');
    expect(rec.frames.length).toBeGreaterThanOrEqual(6);
    expect(rec.frames.every((f) => f.data.length === FRAME_BYTES)).toBe(true);
    expect(r.status()).toMatchObject({ state: 'offline', reason: 'stopped' });
  });

  it('calls output that ends inside a frame garbage', async () => {
    const path = fake('garbage', `head -c ${FRAME_BYTES + 1000} /dev/zero; exit 0`);
    const { r, rec } = reader(path);
    await r.start(new AbortController().signal);
    await waitFor('corrupt verdict', () => rec.statuses.some((s) => s.code === 'STREAM_CORRUPT'), 5000);
    await r.stop();
    expect(rec.statuses.find((s) => s.code === 'STREAM_CORRUPT')?.reason).toMatch(
      /inside a frame \(1000 bytes/,
    );
  });

  it('kills a process that stops sending frames (stall) and one that never sends any', async () => {
    const stalled = reader(fake('stall', `head -c ${FRAME_BYTES * 2} /dev/zero; exec sleep 30`), {
      stallMs: 600,
    });
    await stalled.r.start(new AbortController().signal);
    const t = await waitFor('stall verdict', () => stalled.r.status().code === 'STREAM_STALLED', 5000);
    expect(t).toBeLessThan(3000);
    expect(stalled.r.status().reason).toBe('no frame for 0.6 s');
    await stalled.r.stop();

    const silent = reader(fake('silent', 'exec sleep 30'), { startupMs: 500 });
    await silent.r.start(new AbortController().signal);
    await waitFor('startup verdict', () => silent.r.status().code === 'STREAM_UNREACHABLE', 5000);
    expect(silent.r.status().reason).toBe('no frame within 0.5 s of connecting');
    await silent.r.stop();
    expect(liveFfmpegPids()).toEqual([]);
  });

  it('reports a missing ffmpeg as FFMPEG_UNAVAILABLE and keeps retrying', async () => {
    const { r } = reader('/nonexistent/ffmpeg');
    await r.start(new AbortController().signal);
    await waitFor('reconnect attempts', () => r.status().reconnects >= 1, 5000);
    expect(r.status()).toMatchObject({ state: 'offline', code: 'FFMPEG_UNAVAILABLE' });
    await r.stop();
  });

  it('stop() waits for the exit, SIGKILLing a process that ignores SIGTERM; abort stops too', async () => {
    const path = fake(
      'stubborn',
      `trap '' TERM; head -c ${FRAME_BYTES} /dev/zero; while :; do sleep 0.1; done`,
    );
    const { r, rec } = reader(path, { killGraceMs: 300 });
    const ac = new AbortController();
    await r.start(ac.signal);
    await waitFor('online', () => r.status().state === 'online', 5000);
    const [pid] = liveFfmpegPids();
    expect(pid).toBeTypeOf('number');
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(alive(pid ?? 0)).toBe(false);
    expect(liveFfmpegPids()).toEqual([]);
    expect(rec.statuses.at(-1)).toMatchObject({ state: 'offline', reason: 'stopped', code: null });

    const again = reader(fake('sleeper', 'exec sleep 30'));
    await again.r.start(ac.signal);
    expect(liveFfmpegPids()).toHaveLength(1);
    ac.abort();
    await waitFor('stopped by abort', () => again.r.status().reason === 'stopped', 3000);
    expect(liveFfmpegPids()).toEqual([]);
  });

  it('leaves no ffmpeg behind when the Node process exits without stopping its readers', async () => {
    const sleeper = fake('orphan-candidate', 'exec sleep 30');
    const readerTs = pathToFileURL(resolve('adapters/rtsp/reader.ts')).href;
    const logTs = pathToFileURL(resolve('config/shared/log.ts')).href;
    const script = fake(
      'exit-without-stop.mts',
      [
        `import { RtspReader } from '${readerTs}';`,
        `import { createLogger } from '${logTs}';`,
        `const r = new RtspReader({ id: 'c', url: 'rtsp://h/x', fps: 5, width: 16, height: 16, ffmpegPath: '${sleeper}', log: createLogger({ level: 'silent' }) });`,
        'await r.start(new AbortController().signal);',
        "const { liveFfmpegPids } = await import('" +
          pathToFileURL(resolve('adapters/rtsp/ffmpeg-session.ts')).href +
          "');",
        'console.log(liveFfmpegPids().join(","));',
        'process.exit(0);',
      ].join('\n'),
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    // SIGKILL is sent on the way out; the orphan is then reaped by init, which takes a moment.
    await waitFor('orphan gone', () => !alive(pid), 3000);
  });

  it('reports a stream that runs well below the configured rate as degraded, and its recovery', async () => {
    const frame = `head -c ${FRAME_BYTES} /dev/zero`;
    // 2 fps for 4 s (configured: 5, degraded below 2.5), then 10 fps.
    const script = `i=0; while [ $i -lt 8 ]; do ${frame}; sleep 0.5; i=$((i+1)); done; while :; do ${frame}; sleep 0.1; done`;
    const { r, rec } = reader(fake('slow-then-fast', script));
    await r.start(new AbortController().signal);
    await waitFor('degraded', () => r.status().state === 'degraded', 8000);
    expect(r.status()).toMatchObject({
      code: 'STREAM_SLOW',
      reason: 'frame rate below 50 % of the configured 5 fps',
    });
    expect(r.status().fps).toBeLessThan(2.5);
    await waitFor('recovered', () => r.status().state === 'online', 8000);
    await r.stop();
    expect(rec.statuses.map((s) => s.state)).toEqual(['offline', 'online', 'degraded', 'online', 'offline']);
  });

  it('gives a slow consumer the newest frame and shows the drops in the status', async () => {
    const path = fake('fast', `while :; do head -c ${FRAME_BYTES} /dev/zero; sleep 0.05; done`);
    const seen: number[] = [];
    const { r } = reader(path, {
      onFrame: async (f) => {
        seen.push(f.seq);
        await new Promise((res) => setTimeout(res, 300));
      },
    });
    await r.start(new AbortController().signal);
    await waitFor('drops', () => r.status().dropped >= 10, 8000);
    await r.stop();
    const s = r.status();
    // Every frame was either delivered, dropped, or (at most one) still waiting when the reader stopped.
    expect(s.frames - s.dropped - seen.length).toBeGreaterThanOrEqual(0);
    expect(s.frames - s.dropped - seen.length).toBeLessThanOrEqual(1);
    // Newest wins: consecutive deliveries skip the frames that arrived while the consumer was busy.
    expect(seen.slice(1).every((seq, i) => seq - (seen[i] ?? 0) > 1)).toBe(true);
  });

  it('never puts the URL credentials into logs or statuses', async () => {
    // Like ffmpeg: the URL is echoed in the error line; a second line names the password bare.
    const script = [
      'while [ "$1" != "-i" ]; do shift; done',
      'echo "$2: Server returned 401 Unauthorized (authorization failed)" >&2',
      'echo "user viewer with password pa55word-x refused" >&2',
      'exit 1',
    ].join('\n');
    const path = fake('echo-url', script);
    const { r, rec, cap } = reader(path);
    await r.start(new AbortController().signal);
    await waitFor('auth verdict', () => r.status().code === 'STREAM_AUTH', 5000);
    await r.stop();
    const text = cap.text() + JSON.stringify(rec.statuses) + JSON.stringify(r.displayArgs);
    expect(text).not.toContain('pa55word');
    expect(text).toContain('rtsp://***@127.0.0.1:9/h264');
    const down = cap.lines().find((l) => l.msg === 'camera stream down');
    expect((down?.ffmpeg as { stderr?: string[] } | undefined)?.stderr).toEqual([
      'rtsp://***@127.0.0.1:9/h264: Server returned 401 Unauthorized (authorization failed)',
      'user viewer with password *** refused',
    ]);
  });
});
