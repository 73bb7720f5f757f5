/**
 * Evidence over HTTP, through fastify inject on the gateway's own server (its error contract): clips
 * and snapshots with byte ranges, the live HLS playlist and its segments, on-demand live views that
 * stop when nobody watches, authorisation, and names that try to leave their directory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgError } from '../../../config/shared/errors.js';
import { cutClip, snapshotAt } from '../../../gateway/evidence/cut.js';
import { type LiveRecorder, LiveSessions } from '../../../gateway/evidence/hls.js';
import { evidencePaths } from '../../../gateway/evidence/ring.js';
import { evidenceRoutes } from '../../../gateway/evidence/routes.js';
import { createHttpServer } from '../../../gateway/http/server.js';
import { captureLog, waitFor } from '../../adapters/rtsp/helpers.js';
import { makeSampleSegment, RingSource } from '../../support/evidence-media.js';

const root = mkdtempSync(join(tmpdir(), 'pg-evroutes-'));
const dataDir = join(root, 'data');
const paths = evidencePaths(dataDir);
const log = captureLog().log;
const sample = makeSampleSegment(join(root, 'sample'));
const alertId = ulid();
const secretAlert = ulid();
const AUTH = { authorization: 'Bearer let-me-in' };

/** An on-demand recorder stand-in: a ring that starts filling when started. */
class FakeLive extends RingSource implements LiveRecorder {
  readonly name = 'fake-live';
  running = false;
  async start(): Promise<void> {
    this.running = true;
    setTimeout(() => this.fill(Date.now() - 1000, 2), 50);
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

const ring = new RingSource('cam-1', paths.ringOf('cam-1'), sample, log);
const stale = new RingSource('cam-2', paths.ringOf('cam-2'), sample, log);
const fakes: FakeLive[] = [];
const live = new LiveSessions({
  create: (id) => {
    if (!id.startsWith('door-')) return undefined;
    const f = new FakeLive(id, paths.liveOf(id), sample, log);
    fakes.push(f);
    return f;
  },
  log,
  idleMs: 300,
  checkMs: 50,
  maxSessions: 1,
});
let app: FastifyInstance;

beforeAll(async () => {
  const now = Date.now();
  ring.fill(now - 5000, 3, 1000, 1);
  ring.fill(now - 2000, 2, 1000, 2); // a reconnect: session 2
  stale.fill(now - 120_000, 3);
  const dir = paths.clipsOf(alertId);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  await cutClip(ring.segments(), join(dir, 'cam-1.mp4'));
  await snapshotAt(ring.segments()[1]!, now - 3500, join(dir, 'cam-1.jpg'));
  await live.start(new AbortController().signal);
  app = createHttpServer(log, { bodyLimit: 1024 * 1024 });
  await app.register(evidenceRoutes, {
    authorize: (req, target) => {
      if (req.headers.authorization !== AUTH.authorization) throw new PgError('AUTH_MISSING');
      if (target.kind === 'clip' && target.alertId === secretAlert)
        throw new PgError('AUTH_FORBIDDEN', 'not yours');
    },
    paths,
    isCamera: (id) => ['cam-1', 'cam-2'].includes(id) || id.startsWith('door-'),
    ringOf: (id) => ({ 'cam-1': ring, 'cam-2': stale })[id],
    live,
    firstSegmentWaitMs: 2000,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await live.stop();
  rmSync(root, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { ...AUTH, ...headers } });

describe('clip routes', () => {
  it('serves the clip and the snapshot, with byte ranges for players', async () => {
    const file = readFileSync(join(paths.clipsOf(alertId), 'cam-1.mp4'));
    const whole = await get(`/api/v1/alerts/${alertId}/clips/cam-1.mp4`);
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.rawPayload.equals(file)).toBe(true);

    const part = await get(`/api/v1/alerts/${alertId}/clips/cam-1.mp4`, { range: 'bytes=100-199' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${file.length}`);
    expect(part.rawPayload.equals(file.subarray(100, 200))).toBe(true);
    const suffix = await get(`/api/v1/alerts/${alertId}/clips/cam-1.mp4`, { range: 'bytes=-16' });
    expect(suffix.rawPayload.equals(file.subarray(file.length - 16))).toBe(true);
    const beyond = await get(`/api/v1/alerts/${alertId}/clips/cam-1.mp4`, { range: `bytes=${file.length}-` });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${file.length}`);

    const jpg = await get(`/api/v1/alerts/${alertId}/clips/cam-1.jpg`);
    expect(jpg.statusCode).toBe(200);
    expect(jpg.headers['content-type']).toBe('image/jpeg');
    expect(jpg.rawPayload.subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('answers a clip not there with 404 and a refused caller with the auth codes', async () => {
    const missing = await get(`/api/v1/alerts/${alertId}/clips/cam-9.mp4`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('PG_NOT_FOUND');
    const anon = await app.inject({ method: 'GET', url: `/api/v1/alerts/${alertId}/clips/cam-1.mp4` });
    expect(anon.statusCode).toBe(401);
    expect(anon.json().error.code).toBe('PG_AUTH_MISSING');
    const other = await get(`/api/v1/alerts/${secretAlert}/clips/cam-1.mp4`);
    expect(other.statusCode).toBe(403);
  });

  it('refuses names that try to leave their directory', async () => {
    const id = alertId;
    for (const url of [
      `/api/v1/alerts/${id}/clips/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/api/v1/alerts/${id}/clips/..%2Fcam-1.mp4`,
      `/api/v1/alerts/${id}/clips/cam-1.mp4%00.jpg`,
      `/api/v1/alerts/${id}/clips/cam-1.json`,
      `/api/v1/alerts/${id}/clips/cam-1.request.json`,
      `/api/v1/alerts/..%2F..%2Fvideo/clips/cam-1.mp4`,
      `/api/v1/cameras/..%2Fcam-1/live.m3u8`,
      `/api/v1/cameras/cam-1/hls/..%2F..%2F..%2Fevidence%2Fclips%2F${id}%2Fcam-1.mp4`,
      `/api/v1/cameras/cam-1/hls/raw-1-1-000001.ts`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('PG_BAD_REQUEST');
    }
    expect((await get(`/api/v1/alerts/${id}/clips/../../x`)).statusCode).toBe(404);
  });
});

describe('live view', () => {
  it('lists the newest ring segments as a live HLS playlist and serves them', async () => {
    const res = await get('/api/v1/cameras/cam-1/live.m3u8');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(res.headers['cache-control']).toBe('no-cache');
    const lines = res.body.trim().split('\n');
    const segs = ring.segments().slice(-4);
    expect(lines.slice(0, 5)).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:1',
      `#EXT-X-MEDIA-SEQUENCE:${segs[0]!.seq}`,
      '#EXT-X-DISCONTINUITY-SEQUENCE:0',
    ]);
    const uris = lines.filter((l) => !l.startsWith('#'));
    expect(uris).toEqual(segs.map((s) => `/api/v1/cameras/cam-1/hls/${s.name}`));
    // Exactly one discontinuity, right before the first segment of the second ffmpeg process.
    expect(lines.filter((l) => l === '#EXT-X-DISCONTINUITY')).toHaveLength(1);
    const d = lines.indexOf('#EXT-X-DISCONTINUITY');
    expect(lines.slice(d).find((l) => !l.startsWith('#'))).toBe(uris[2]);
    expect(lines.filter((l) => l.startsWith('#EXTINF:'))).toEqual(Array(4).fill('#EXTINF:1.000,'));

    for (const uri of uris) {
      const seg = await get(uri);
      expect(seg.statusCode).toBe(200);
      expect(seg.headers['content-type']).toBe('video/mp2t');
      expect(seg.rawPayload.equals(readFileSync(sample))).toBe(true);
    }
    const rotated = uris[0]!.replace(/\/\d+-/, '/999-');
    expect((await get(rotated)).statusCode).toBe(404);
  });

  it('answers a ring that stopped receiving with 503, an unknown camera with 404', async () => {
    const res = await get('/api/v1/cameras/cam-2/live.m3u8');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PG_CAMERA_NO_FRAME');
    const unknown = await get('/api/v1/cameras/cam-7/live.m3u8');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('PG_CAMERA_UNKNOWN');
    expect((await app.inject({ method: 'GET', url: '/api/v1/cameras/cam-1/live.m3u8' })).statusCode).toBe(
      401,
    );
  });

  it('starts a recorder on demand for a camera without a ring and stops it when nobody watches', async () => {
    const res = await get('/api/v1/cameras/door-1/live.m3u8');
    expect(res.statusCode).toBe(200);
    expect(res.body.match(/\/api\/v1\/cameras\/door-1\/hls\/\S+\.ts/g)).toHaveLength(2);
    expect(live.active()).toEqual(['door-1']);
    const fake = fakes[0]!;
    expect(fake.running).toBe(true);
    // One session at a time here: a second camera is refused while the first is watched.
    const busy = await get('/api/v1/cameras/door-2/live.m3u8');
    expect(busy.statusCode).toBe(429);
    expect(busy.json().error.code).toBe('PG_LIVE_VIEW_LIMIT');
    // Playlist requests keep it alive…
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect((await get('/api/v1/cameras/door-1/live.m3u8')).statusCode).toBe(200);
    }
    expect(fake.running).toBe(true);
    // …and silence ends it.
    await waitFor('idle stop', () => !fake.running, 3000);
    expect(live.active()).toEqual([]);
    expect(fakes).toHaveLength(1);
  });
});
