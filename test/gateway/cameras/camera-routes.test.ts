import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { VideoFrame } from '../../../adapters/rtsp/reader.js';
import { PgError } from '../../../config/shared/errors.js';
import { createLogger } from '../../../config/shared/log.js';
import { type CameraHandle, cameraRoutes } from '../../../gateway/cameras/camera-routes.js';
import { LiveView, MJPEG_BOUNDARY } from '../../../gateway/cameras/live-view.js';
import { CameraSnapshot } from '../../../gateway/cameras/snapshot.js';
import { hashToken, TokenAuth } from '../../../gateway/http/auth.js';
import { createHttpServer } from '../../../gateway/http/server.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';

const log = createLogger({ level: 'silent' });
const auth = new TokenAuth([
  { name: 'desk', role: 'screener', sha256: hashToken('screener-token') },
  { name: 'xr-1', role: 'device', sha256: hashToken('device-token') },
]);
const SCREENER = { authorization: 'Bearer screener-token' };

function frame(): VideoFrame {
  const width = 48;
  const height = 32;
  return {
    streamId: 'dock-1',
    seq: 1,
    width,
    height,
    data: Buffer.alloc(width * height * 3, 150),
    receivedAt: Date.now(),
  };
}

const apps: FastifyInstance[] = [];
const views: LiveView[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

function app(cameras: Record<string, CameraHandle>, liveOpts: { maxCameras?: number; idleMs?: number } = {}) {
  const liveView = new LiveView({ maxCameras: 2, idleMs: 400, killGraceMs: 500, log, ...liveOpts });
  views.push(liveView);
  const lookups: string[] = [];
  const a = createHttpServer(log, { bodyLimit: 1024 * 1024 });
  apps.push(a);
  a.register(cameraRoutes, {
    authorize: (req) => {
      auth.authorize(req, { roles: ['screener', 'supervisor', 'admin'] });
    },
    lookup: (id) => {
      lookups.push(id);
      return cameras[id];
    },
    liveView,
  });
  return { app: a, lookups, liveView };
}

function camera(id: string, over: Partial<CameraHandle> = {}): CameraHandle {
  const f = frame();
  const snap = new CameraSnapshot({ id, latestFrame: () => f, log });
  return {
    id,
    name: `Camera ${id}`,
    streamUrl: () => null,
    snapshot: (signal) => snap.snapshot(signal),
    ...over,
  };
}

describe('camera routes (inject)', () => {
  it('serves the current picture as a JPEG', async () => {
    const { app: a } = app({ 'dock-1': camera('dock-1') });
    const res = await a.inject({ url: '/api/v1/cameras/dock-1/snapshot.jpg', headers: SCREENER });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await sharp(res.rawPayload).metadata()).toMatchObject({ format: 'jpeg', width: 48, height: 32 });
  });

  it('checks the token before it looks the camera up', async () => {
    const { app: a, lookups } = app({ 'dock-1': camera('dock-1') });
    const none = await a.inject({ url: '/api/v1/cameras/dock-1/snapshot.jpg' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('PG_AUTH_MISSING');
    const device = await a.inject({
      url: '/api/v1/cameras/nope/live.mjpeg',
      headers: { authorization: 'Bearer device-token' },
    });
    expect(device.statusCode).toBe(403);
    expect(lookups).toEqual([]);
  });

  it('answers an unknown camera with CAMERA_UNKNOWN and a malformed id with 400', async () => {
    const { app: a } = app({ 'dock-1': camera('dock-1') });
    for (const path of ['snapshot.jpg', 'live.mjpeg']) {
      const res = await a.inject({ url: `/api/v1/cameras/dock-9/${path}`, headers: SCREENER });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({
        code: 'PG_CAMERA_UNKNOWN',
        message: 'no such camera: dock-9',
      });
    }
    const bad = await a.inject({ url: '/api/v1/cameras/DOCK..1/snapshot.jpg', headers: SCREENER });
    expect(bad.statusCode).toBe(400);
    // HEAD of the live view would start a stream nobody reads.
    const head = await a.inject({
      method: 'HEAD',
      url: '/api/v1/cameras/dock-1/live.mjpeg',
      headers: SCREENER,
    });
    expect(head.statusCode).toBe(404);
  });

  it('passes on why there is no picture, and refuses live view over the cap', async () => {
    const offline = camera('dock-2', {
      snapshot: async () => {
        throw new PgError('CAMERA_NO_FRAME', 'camera "dock-2" has sent no picture yet');
      },
      streamUrl: () => 'rtsp://127.0.0.1:9/h264',
    });
    const { app: a } = app({ 'dock-2': offline, 'dock-3': camera('dock-3') }, { maxCameras: 0 });
    const snap = await a.inject({ url: '/api/v1/cameras/dock-2/snapshot.jpg', headers: SCREENER });
    expect(snap.statusCode).toBe(503);
    expect(snap.json().error.code).toBe('PG_CAMERA_NO_FRAME');
    const live = await a.inject({ url: '/api/v1/cameras/dock-2/live.mjpeg', headers: SCREENER });
    expect(live.statusCode).toBe(429);
    expect(live.json().error.code).toBe('PG_LIVE_VIEW_LIMIT');
    // An ONVIF camera whose stream address is not known yet has nothing to show.
    const unresolved = await a.inject({ url: '/api/v1/cameras/dock-3/live.mjpeg', headers: SCREENER });
    expect(unresolved.statusCode).toBe(503);
  });
});

/** Reads `count` JPEG parts off a live HTTP response, checking the framing on the wire. */
function readParts(res: IncomingMessage, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${parts.length} parts`)), 10_000);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith(`--${MJPEG_BOUNDARY}\r\n`)) return reject(new Error(`bad part head: ${head}`));
        const n = Number(/Content-Length: (\d+)/.exec(head)?.[1]);
        if (buf.length < end + 4 + n + 2) return;
        parts.push(Buffer.from(buf.subarray(end + 4, end + 4 + n)));
        buf = buf.subarray(end + 4 + n + 2);
        if (parts.length === count) {
          clearTimeout(timer);
          res.off('data', onData);
          return resolve(parts);
        }
      }
    };
    res.on('data', onData);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: the process is gone
  }
}

describeWithRtsp('camera routes: MJPEG over a real connection', () => {
  const server = useRtspServer({ width: 320, height: 240, fps: 10 });

  async function listen() {
    const cams = {
      'dock-1': camera('dock-1', { streamUrl: () => server().url('mjpeg') }),
    };
    const ctx = app(cams);
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = ctx.app.server.address() as AddressInfo;
    const open = async () => {
      const req = get({
        host: '127.0.0.1',
        port,
        path: '/api/v1/cameras/dock-1/live.mjpeg',
        headers: SCREENER,
      });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      return { req, res };
    };
    return { ...ctx, open };
  }

  it('streams JPEG parts, and its ffmpeg is gone after the viewer disconnects', async () => {
    const { liveView, open } = await listen();
    const { req, res } = await open();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(`multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`);
    const parts = await readParts(res, 2);
    expect(await sharp(parts[1]).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    const pid = liveView.feedsInfo()[0]?.pid ?? -1;
    expect(alive(pid)).toBe(true);

    req.destroy(); // the browser tab closes
    const started = Date.now();
    while (alive(pid) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(liveView.feedsInfo()).toEqual([]);
  });

  it('lets the server close while a live view is open', async () => {
    const { app: a, liveView, open } = await listen();
    const { res } = await open();
    await readParts(res, 1);
    const ended = new Promise<void>((resolve) => res.once('end', () => resolve()));
    res.resume();
    const started = Date.now();
    await a.close();
    await ended;
    expect(Date.now() - started).toBeLessThan(3000);
    await liveView.stop();
    expect(liveView.feedsInfo()).toEqual([]);
  });
});
