/**
 * Video evidence through a whole gateway: a belt camera (real GStreamer RTSP server) linked to an X-ray
 * machine keeps a ring; an alarm scan from the machine's hot folder yields an alert, then an `update`
 * carrying the camera's clip and snapshot, both served over HTTP, the clip covering the alert time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alertMessageSchema } from '../../../adapters/mqtt/topics.js';
import { Gateway } from '../../../gateway/app.js';
import { ffprobe } from '../../support/evidence-media.js';
import { describeWithRtsp, type RtspTestServer, startRtspServer } from '../../support/rtsp-server.js';
import {
  ADMIN_TOKEN,
  AlertCollector,
  dropScan,
  makeSite,
  parcelImage,
  type TestSite,
  waitFor,
} from '../../support/site.js';

describeWithRtsp('evidence clips for alerts', () => {
  let server: RtspTestServer;
  let site: TestSite;
  let gateway: Gateway;
  let collector: AlertCollector;

  beforeAll(async () => {
    server = await startRtspServer({ width: 320, height: 240, fps: 10 });
    site = makeSite({
      overrides: {
        cameras: [
          {
            id: 'cam-belt',
            name: 'Line 1 belt',
            rtsp: { url: server.url('h264') },
            linkedTo: ['xr-1'],
            stream: { fps: 2, width: 160, height: 120, timeoutMs: 2000 },
            record: { ringSeconds: 20, segmentSeconds: 1, preSeconds: 2, postSeconds: 2 },
          },
        ],
      },
    });
    gateway = new Gateway({ config: site.config, log: pino({ level: 'silent' }) });
    await gateway.start();
    collector = await AlertCollector.connect(gateway.brokerUrl());
  }, 30_000);

  afterAll(async () => {
    await collector?.close();
    await gateway?.stop();
    await server?.cleanup();
    site?.cleanup();
  });

  const get = (url: string) =>
    gateway.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  it('an alert gets an update with the clip and snapshot of the linked camera, covering the alert time', async () => {
    // Enough ring for the pre-roll before the parcel arrives.
    await waitFor(
      'ring segments',
      async () => {
        const cam = (await get('/api/v1/cameras/cam-belt')).json() as {
          recorder: { segments: number } | null;
        };
        return (cam.recorder?.segments ?? 0) >= 4;
      },
      20_000,
    );
    await dropScan(site.inbox, 'p1', await parcelImage('knife', 1), 'WB-CLIP-1');
    await waitFor('alert and its clip update', () => collector.alerts().length >= 2, 30_000);
    const [created, update] = collector.alerts().map((a) => alertMessageSchema.parse(a));
    expect(created?.type).toBe('new');
    expect(update?.type).toBe('update');
    if (update?.type !== 'update' || created?.type !== 'new') return;
    expect(update.id).toBe(created.id);
    const ref = update.evidence?.clips?.[0];
    expect(ref).toMatchObject({ camera: 'cam-belt', reason: null });
    expect(update.evidence?.clip).toBe(ref?.clip);

    // The clip spans the requested window to within one segment at each end.
    const at = Date.parse(created.scan.capturedAt ?? created.createdAt);
    const from = Date.parse(ref!.from);
    const to = Date.parse(ref!.to);
    expect(from).toBeLessThanOrEqual(at - 2000 + 10);
    expect(from).toBeGreaterThan(at - 2000 - 2100);
    expect(to).toBeGreaterThanOrEqual(at + 2000 - 10);
    expect(to).toBeLessThan(at + 2000 + 2100);

    const clip = await get(ref!.clip!);
    expect(clip.statusCode).toBe(200);
    expect(clip.headers['content-type']).toBe('video/mp4');
    const path = join(site.dir, 'clip.mp4');
    writeFileSync(path, clip.rawPayload);
    const duration = Number(ffprobe(path).format.duration);
    expect(duration).toBeGreaterThan((to - from) / 1000 - 1.1);
    expect(duration).toBeLessThan((to - from) / 1000 + 1.1);
    const snap = await get(ref!.snapshot!);
    expect(snap.headers['content-type']).toBe('image/jpeg');

    // The stored alert carries the clip too, for the API and a late consumer.
    const stored = (await get(`/api/v1/alerts/${created.id}`)).json() as { evidence: { clip: string } };
    expect(stored.evidence.clip).toBe(ref!.clip);
  }, 60_000);

  it('serves the ring as a live HLS playlist with playable segments', async () => {
    const playlist = await get('/api/v1/cameras/cam-belt/live.m3u8');
    expect(playlist.statusCode).toBe(200);
    expect(playlist.body).toMatch(/^#EXTM3U/);
    const seg = playlist.body.split('\n').find((l) => l.startsWith('/api/v1/cameras/cam-belt/hls/'));
    expect(seg).toBeDefined();
    const ts = await get(seg!);
    expect(ts.statusCode).toBe(200);
    expect(ts.rawPayload[0]).toBe(0x47); // MPEG-TS sync byte
    expect(
      (await gateway.server.inject({ method: 'GET', url: '/api/v1/cameras/cam-belt/live.m3u8' })).statusCode,
    ).toBe(401);
  });
});
