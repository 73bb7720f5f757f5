/**
 * Several streams at once against real RTSP servers: one camera dying leaves the other untouched, and
 * credentials in stream URLs never reach logs or statuses, even where ffmpeg echoes the URL.
 */
import { afterEach, expect, it } from 'vitest';
import { liveFfmpegPids } from '../../../adapters/rtsp/ffmpeg-session.js';
import { RtspReader } from '../../../adapters/rtsp/reader.js';
import { describeWithRtsp, startRtspServer, useRtspServer } from '../../support/rtsp-server.js';
import { captureLog, readerOptions, record, TEST_STREAM, waitFor } from './helpers.js';

const readers: RtspReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.stop()));
  expect(liveFfmpegPids()).toEqual([]);
});

function track(r: RtspReader): RtspReader {
  readers.push(r);
  void r.start(new AbortController().signal);
  return r;
}

describeWithRtsp('RtspReader: several streams', () => {
  const serverA = useRtspServer({ fps: 10 });
  const serverB = useRtspServer({ fps: 10 });

  it('keeps delivering one stream while another camera dies', async () => {
    const log = captureLog('warn').log;
    const a = record();
    const b = record();
    const ra = track(
      new RtspReader(readerOptions({ id: 'cam-a', url: serverA().url('h264'), log, onFrame: a.onFrame })),
    );
    const rb = track(
      new RtspReader(readerOptions({ id: 'cam-b', url: serverB().url('mjpeg'), log, onFrame: b.onFrame })),
    );
    rb.onStatus(b.onStatus);
    await waitFor(
      'both online',
      () => ra.status().state === 'online' && rb.status().state === 'online',
      12_000,
    );
    const statusesBefore = b.statuses.length;

    await serverA().kill();
    const killedAt = Date.now();
    const bBefore = b.frames.length;
    await waitFor('cam-a offline', () => ra.status().state === 'offline', 5000);
    await new Promise((res) => setTimeout(res, 3000));

    const seconds = (Date.now() - killedAt) / 1000;
    expect(b.frames.length - bBefore).toBeGreaterThanOrEqual(seconds * TEST_STREAM.fps * 0.6);
    // No gap in cam-b's frames while cam-a went down and was being retried.
    const times = b.frames.filter((f) => f.receivedAt >= killedAt).map((f) => f.receivedAt);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(Math.max(...gaps)).toBeLessThan(1000);
    expect(b.statuses.length).toBe(statusesBefore);
    expect(rb.status()).toMatchObject({ state: 'online', reconnects: 0 });
    expect(ra.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('keeps credentials out of logs and statuses for a good and a wrong password', async () => {
    const auth = { username: 'viewer', password: 'Zq9#secret/pw' };
    const secure = await startRtspServer({ auth });
    try {
      const cap = captureLog('debug');
      const good = record();
      const bad = record();
      const ok = new RtspReader(
        readerOptions({ id: 'cam-auth', url: secure.url('h264', auth), log: cap.log, onFrame: good.onFrame }),
      );
      const wrongPw = { username: 'viewer', password: 'Wr0ng-pass!' };
      const nope = new RtspReader(
        readerOptions({ id: 'cam-wrong', url: secure.url('h264', wrongPw), log: cap.log }),
      );
      ok.onStatus(good.onStatus);
      nope.onStatus(bad.onStatus);
      track(ok);
      track(nope);
      await waitFor('authenticated stream online', () => ok.status().state === 'online', 12_000);
      await waitFor('wrong password refused', () => nope.status().code === 'STREAM_AUTH', 12_000);
      expect(nope.status().reason).toBe('camera refused the credentials (401)');
      await Promise.all([ok.stop(), nope.stop()]);

      const everything = [
        cap.text(),
        JSON.stringify([good.statuses, bad.statuses, ok.status(), nope.status()]),
        ok.displayUrl,
        nope.displayArgs.join(' '),
      ].join('\n');
      for (const secret of [auth.password, encodeURIComponent(auth.password), wrongPw.password, 'Zq9']) {
        expect(everything).not.toContain(secret);
      }
      // ffmpeg did echo the URL, and it arrived redacted.
      const refused = cap
        .lines()
        .find((l) => l.msg === 'camera stream down' && JSON.stringify(l).includes('401'));
      expect(JSON.stringify(refused)).toContain(`rtsp://***@127.0.0.1:${secure.port}/h264`);
    } finally {
      await secure.cleanup();
    }
  });
});
