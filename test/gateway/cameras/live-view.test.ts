import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { isPgError } from '../../../config/shared/errors.js';
import { createLogger } from '../../../config/shared/log.js';
import {
  LIVE_VIEW_DEFAULTS,
  LiveView,
  type LiveViewOptions,
  liveViewArgs,
  MJPEG_BOUNDARY,
  MultipartJpegParser,
  mjpegPart,
} from '../../../gateway/cameras/live-view.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';

const silent = createLogger({ level: 'silent' });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Reads `count` parts of our multipart body, parsed here independently of the module's parser: each
 * must be `--boundary`, a Content-Type and Content-Length header, and a whole JPEG (SOI … EOI).
 */
function readParts(stream: Readable, count: number, timeoutMs = 10_000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const parts: Buffer[] = [];
    const head = new RegExp(
      `^--${MJPEG_BOUNDARY}\\r\\nContent-Type: image/jpeg\\r\\nContent-Length: (\\d+)\\r\\n\\r\\n`,
    );
    const timer = setTimeout(() => finish(new Error(`only ${parts.length} of ${count} parts`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      if (err) reject(err);
      else resolve(parts);
    };
    const onEnd = () => finish(new Error(`stream ended after ${parts.length} parts`));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const m = head.exec(buf.subarray(0, 200).toString('latin1'));
        if (!m?.[1]) return;
        const start = m[0].length;
        const n = Number(m[1]);
        if (buf.length < start + n + 2) return;
        const jpeg = buf.subarray(start, start + n);
        if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg.at(-2) !== 0xff || jpeg.at(-1) !== 0xd9) {
          return finish(new Error('part is not a whole JPEG'));
        }
        if (buf.subarray(start + n, start + n + 2).toString() !== '\r\n') return finish(new Error('no CRLF'));
        parts.push(Buffer.from(jpeg));
        buf = buf.subarray(start + n + 2);
        if (parts.length >= count) return finish();
      }
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

describe('live view building blocks', () => {
  it('cuts multipart JPEG output however the chunks fall', () => {
    const a = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    const b = Buffer.from([0xff, 0xd8, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0xd9]); // CRLFCRLF inside the data
    const wire = Buffer.concat([
      Buffer.from(`--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: ${a.length}\r\n\r\n`),
      a,
      Buffer.from(`\r\n--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: ${b.length}\r\n\r\n`),
      b,
      Buffer.from('\r\n'),
    ]);
    for (const size of [1, 3, 7, wire.length]) {
      const got: Buffer[] = [];
      const parser = new MultipartJpegParser((j) => got.push(j));
      for (let i = 0; i < wire.length; i += size) parser.push(wire.subarray(i, i + size));
      expect(got).toEqual([a, b]);
    }
  });

  it('refuses output that is not multipart JPEG', () => {
    const parser = new MultipartJpegParser(() => undefined);
    expect(() => parser.push(Buffer.from('--x\r\nContent-type: image/jpeg\r\n\r\n'))).toThrow(
      /Content-Length/,
    );
    const big = new MultipartJpegParser(() => undefined, 1000);
    expect(() => big.push(Buffer.from('--x\r\nContent-length: 5000\r\n\r\n'))).toThrow(/too large/);
    expect(() => new MultipartJpegParser(() => undefined).push(Buffer.alloc(5000, 0x41))).toThrow(/header/);
  });

  it('builds our own parts and an argv with the URL as one argument', () => {
    const part = mjpegPart(Buffer.from('JPEG'));
    expect(part.toString()).toBe(
      `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\nJPEG\r\n`,
    );
    const url = 'rtsp://u:p%40ss@10.0.0.9/a b;&c';
    const args = liveViewArgs({ id: 'c', url, transport: 'udp' }, { ...LIVE_VIEW_DEFAULTS, maxCameras: 1 });
    expect(args.filter((a) => a === url)).toHaveLength(1);
    expect(args.join(' ')).toContain('-rtsp_transport udp -timeout 5000000 -fpsprobesize 0');
    expect(args.join(' ')).toContain("fps=5,scale=w='min(960,iw)':h=-2 -f mpjpeg -q:v 5 pipe:1");
    expect(() =>
      liveViewArgs({ id: 'c', url: 'http://x/' }, { ...LIVE_VIEW_DEFAULTS, maxCameras: 1 }),
    ).toThrow(/rtsp/);
  });
});

describe('LiveView without a camera', () => {
  it('reports a missing ffmpeg as FFMPEG_UNAVAILABLE and keeps nothing', async () => {
    const live = new LiveView({
      maxCameras: 1,
      ffmpegPath: '/nonexistent/ffmpeg',
      killGraceMs: 100,
      log: silent,
    });
    const err = await live.open({ id: 'c', url: 'rtsp://127.0.0.1:9/x' }).catch((e: unknown) => e);
    expect(isPgError(err, 'FFMPEG_UNAVAILABLE')).toBe(true);
    expect(live.feedsInfo()).toEqual([]);
    await live.stop();
  });
});

describeWithRtsp('LiveView against a real RTSP server', () => {
  // Every mount needs credentials: the URL with its password must reach ffmpeg intact, and nothing else.
  const creds = { username: 'viewer', password: 'Pa55:w/rd@x' };
  const server = useRtspServer({ width: 320, height: 240, fps: 10, auth: creds });
  const url = (path: 'h264' | 'mjpeg') => server().url(path, creds);
  const views: LiveView[] = [];
  const make = (o: Partial<LiveViewOptions> = {}) => {
    const v = new LiveView({
      maxCameras: 2,
      idleMs: 400,
      killGraceMs: 500,
      startupMs: 8000,
      log: silent,
      ...o,
    });
    views.push(v);
    return v;
  };
  afterEach(async () => {
    await Promise.all(views.splice(0).map((v) => v.stop()));
  });

  it('shares one ffmpeg between viewers and stops it after the last one leaves', async () => {
    const live = make({ maxWidth: 160 });
    const cam = { id: 'dock-1', url: url('h264') };
    const first = await live.open(cam);
    const second = await live.open(cam);
    const [info] = live.feedsInfo();
    expect(live.feedsInfo()).toHaveLength(1);
    expect(info?.viewers).toBe(2);
    const pid = info?.pid ?? -1;
    expect(alive(pid)).toBe(true);
    const [a, b] = await Promise.all([readParts(first, 3), readParts(second, 3)]);
    // Scaled to maxWidth with the aspect kept.
    expect(await sharp(a[2]).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 120 });
    expect(b).toHaveLength(3);

    first.destroy();
    await new Promise((r) => setTimeout(r, 600));
    expect(alive(pid)).toBe(true); // the other viewer still watches
    second.destroy();
    // A viewer coming back within the idle delay would reuse it; nobody does, so it goes.
    expect(alive(pid)).toBe(true);
    await waitFor('ffmpeg to exit', () => !alive(pid), 3000);
    expect(live.feedsInfo()).toEqual([]);
  });

  it('caps live cameras, and a camera without viewers gives its place up at once', async () => {
    const live = make({ maxCameras: 1, idleMs: 30_000 });
    const a = await live.open({ id: 'cam-a', url: url('h264') });
    const err = await live.open({ id: 'cam-b', url: url('mjpeg') }).catch((e: unknown) => e);
    expect(isPgError(err, 'LIVE_VIEW_LIMIT')).toBe(true);
    expect(isPgError(err) && err.status).toBe(429);
    const pidA = live.feedsInfo()[0]?.pid ?? -1;
    a.destroy(); // the client leaves; its place frees once the stream has closed
    await once(a, 'close');
    const b = await live.open({ id: 'cam-b', url: url('mjpeg') });
    expect(alive(pidA)).toBe(false); // ended before cam-b's ffmpeg started: never two at once
    expect(live.feedsInfo().map((f) => f.id)).toEqual(['cam-b']);
    expect(await readParts(b, 2)).toHaveLength(2);
  });

  it('ends every viewer and every ffmpeg on stop()', async () => {
    const live = make();
    const viewer = await live.open({ id: 'dock-1', url: url('mjpeg') });
    const pid = live.feedsInfo()[0]?.pid ?? -1;
    const ended = new Promise<void>((resolve) => viewer.once('end', () => resolve()));
    viewer.resume();
    await live.stop();
    await ended;
    expect(alive(pid)).toBe(false);
    await expect(live.open({ id: 'dock-1', url: url('mjpeg') })).rejects.toMatchObject({
      code: 'CAMERA_NO_FRAME',
    });
  });

  it('classifies a camera that gives no picture, and keeps the password out of the log', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    });
    const live = make({ log, startupMs: 4000 });
    const wrong = server().url('h264', { username: 'viewer', password: 'Hunter2-secret' });
    const refused = await live.open({ id: 'bad-pass', url: wrong }).catch((e: unknown) => e);
    expect(isPgError(refused, 'STREAM_AUTH')).toBe(true);
    const gone = `rtsp://viewer:Hunter2-secret@127.0.0.1:${closed}/h264`;
    const unreachable = await live.open({ id: 'gone', url: gone, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isPgError(unreachable, 'STREAM_UNREACHABLE')).toBe(true);
    expect(live.feedsInfo()).toEqual([]);
    const text = lines.join('');
    expect(text.match(/live view ended/g)).toHaveLength(2);
    expect(text).toMatch(/401|refused/i); // ffmpeg's own words (which echo the URL) are kept, scrubbed
    expect(text).not.toContain('Hunter2');
  });
});
