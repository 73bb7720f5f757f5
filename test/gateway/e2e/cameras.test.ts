/**
 * Cameras wired into a whole gateway: a real GStreamer RTSP server, the real reader, the gateway's
 * embedded broker. The camera's status reaches MQTT (retained, with stream figures), the API and
 * /metrics, follows the camera going away and coming back, and never shows its password.
 */
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceEventSchema, deviceStatusSchema, topics } from '../../../adapters/mqtt/topics.js';
import { Gateway } from '../../../gateway/app.js';
import { type Subscriber, subscribe } from '../../adapters/mqtt/helpers.js';
import { type FakeOnvif, startFakeOnvif } from '../../support/fake-onvif.js';
import { describeWithRtsp, type RtspTestServer, startRtspServer } from '../../support/rtsp-server.js';
import { ADMIN_TOKEN, makeSite, type TestSite, waitFor } from '../../support/site.js';

const CREDS = { username: 'viewer', password: 's3cr3t-Pa55' };

describeWithRtsp('cameras in the gateway', () => {
  let server: RtspTestServer;
  let site: TestSite;
  let gateway: Gateway;
  let sub: Subscriber;
  let onvif: FakeOnvif;

  beforeAll(async () => {
    server = await startRtspServer({ auth: CREDS, width: 320, height: 240, fps: 10 });
    // The ONVIF device hands out the server's stream; the gateway adds the credentials itself.
    onvif = await startFakeOnvif({
      ...CREDS,
      streamUris: { profile_main: server.url('h264'), profile_sub: server.url('mjpeg') },
      snapshot: await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0a0' } })
        .jpeg()
        .toBuffer(),
    });
    site = makeSite({
      overrides: {
        cameras: [
          {
            id: 'cam-1',
            name: 'Line 1 belt',
            rtsp: { url: server.url('h264', CREDS) },
            linkedTo: ['xr-1'],
            stream: { fps: 4, width: 160, height: 120, timeoutMs: 2000 },
            record: { enabled: false },
          },
          {
            id: 'cam-taped',
            name: 'Dock (lens taped over)',
            rtsp: { url: server.url('black', CREDS) },
            stream: { fps: 4, width: 160, height: 120, timeoutMs: 2000 },
            tamper: { holdSeconds: 1 },
            record: { enabled: false },
          },
          {
            id: 'cam-onvif',
            name: 'Door (ONVIF)',
            onvif: { xaddr: onvif.xaddr, ...CREDS },
            stream: { fps: 4, width: 160, height: 120, timeoutMs: 2000 },
            record: { enabled: false },
          },
          {
            id: 'cam-onvif-badpw',
            name: 'Door (wrong password)',
            onvif: { xaddr: onvif.xaddr, username: CREDS.username, password: 'wrong' },
            record: { enabled: false },
          },
          {
            id: 'disp-1',
            name: 'Line 2 operator display',
            role: 'xray-display',
            rtsp: { url: server.url('h264', CREDS) },
            models: ['probe'],
            stream: { fps: 4, width: 160, height: 120, timeoutMs: 2000 },
            display: { roi: { x: 0.1, y: 0.1, width: 0.8, height: 0.8 } },
          },
        ],
      },
    });
    gateway = new Gateway({ config: site.config, log: pino({ level: 'silent' }) });
    await gateway.start();
    sub = await subscribe(gateway.brokerUrl(), [
      topics.deviceStatus('test-site', 'cam-1'),
      topics.deviceStatus('test-site', 'cam-taped'),
      topics.deviceEvent('test-site', 'cam-taped'),
      topics.deviceStatus('test-site', 'disp-1'),
      topics.deviceStatus('test-site', 'cam-onvif'),
      topics.deviceStatus('test-site', 'cam-onvif-badpw'),
    ]);
  }, 30_000);

  afterAll(async () => {
    await sub?.end();
    await gateway?.stop();
    await server?.cleanup();
    await onvif?.stop();
    site?.cleanup();
  });

  const statuses = (id = 'cam-1') =>
    sub.messages
      .filter((m) => m.topic === topics.deviceStatus('test-site', id))
      .map((m) => deviceStatusSchema.parse(JSON.parse(m.payload)));
  const get = (url: string) =>
    gateway.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  it('reports the camera online on MQTT (retained, with stream figures), the API and /metrics', async () => {
    await sub.until(() => statuses().some((s) => s.state === 'online'), 15_000, 'camera online');
    await waitFor(
      'frames counted',
      () => (gateway.cameras.get('cam-1').status().stream?.frames ?? 0) >= 3,
      10_000,
    );
    const res = await get('/api/v1/cameras');
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(CREDS.password);
    const cams = res.json() as {
      cameras: Array<{
        id: string;
        status: { state: string; stream: { targetFps: number } };
        source: { rtsp: string };
      }>;
    };
    expect(cams.cameras).toHaveLength(5);
    expect(cams.cameras[0]).toMatchObject({
      id: 'cam-1',
      status: { state: 'online', stream: { targetFps: 4 } },
    });
    expect(cams.cameras[0]!.source.rtsp).toMatch(/^rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/h264$/);
    const metrics = await get('/metrics');
    expect(metrics.body).toMatch(/parcelguard_device_state\{device="cam-1",kind="camera"\} 2/);
    expect(metrics.body).toMatch(/parcelguard_camera_frames\{camera="cam-1"\} [1-9]/);
    for (const m of sub.messages) expect(m.payload).not.toContain(CREDS.password);
  }, 30_000);

  it('serves a current snapshot of the camera, from its newest frame', async () => {
    const res = await get('/api/v1/cameras/cam-1/snapshot.jpg');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(res.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 160, 120]);
  });

  it('resolves an ONVIF camera to its best profile, streams it, and serves the snapshot of the device itself', async () => {
    await sub.until(
      () => statuses('cam-onvif').some((s) => s.state === 'online'),
      20_000,
      'ONVIF camera online',
    );
    const cam = (await get('/api/v1/cameras/cam-onvif')).json() as {
      stream: string;
      source: { onvif: string };
    };
    expect(cam.stream).toMatch(/^rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/h264$/); // profile_main, credentials hidden
    expect(cam.source.onvif).toBe(onvif.xaddr);
    const snap = await get('/api/v1/cameras/cam-onvif/snapshot.jpg');
    expect(snap.statusCode).toBe(200);
    expect((await sharp(snap.rawPayload).metadata()).width).toBe(64); // the device's JPEG, not a frame
    expect(onvif.snapshotRequests).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('reports an ONVIF camera with a wrong password offline with the reason, and keeps retrying', async () => {
    await sub.until(
      () =>
        statuses('cam-onvif-badpw').some((s) => s.state === 'offline' && /ONVIF_AUTH/.test(s.reason ?? '')),
      20_000,
      'offline with ONVIF_AUTH',
    );
    const badCalls = () => onvif.calls.filter((c) => c.auth === 'bad').length;
    const before = badCalls();
    await waitFor('a retry', () => badCalls() > before, 10_000);
    for (const m of sub.messages) expect(m.payload).not.toContain('wrong');
  }, 40_000);

  it('reports a taped-over lens as a tamper event (through the outbox) and a degraded camera', async () => {
    await sub.until(
      () => sub.messages.some((m) => m.topic === topics.deviceEvent('test-site', 'cam-taped')),
      20_000,
      'tamper event',
    );
    const event = deviceEventSchema.parse(
      JSON.parse(sub.messages.find((m) => m.topic.endsWith('/cam-taped/events'))!.payload),
    );
    expect(event).toMatchObject({ type: 'tamper', device: 'cam-taped', condition: 'black', state: 'start' });
    expect(event.details.mean).toBeLessThan(20);
    await sub.until(
      () => statuses('cam-taped').some((s) => s.state === 'degraded' && s.tamper?.includes('black')),
      5000,
      'degraded status with the tamper condition',
    );
    expect(statuses('cam-1').every((s) => (s.tamper ?? []).length === 0)).toBe(true);
    const metrics = await get('/metrics');
    expect(metrics.body).toMatch(/parcelguard_tamper_events_total\{camera="cam-taped",condition="black"\} 1/);
  }, 30_000);

  it('goes offline when the camera dies and online again when it returns', async () => {
    const before = statuses().length;
    await server.kill();
    await sub.until(
      () =>
        statuses()
          .slice(before)
          .some((s) => s.state === 'offline'),
      10_000,
      'offline after the server died',
    );
    const offline = statuses()
      .slice(before)
      .find((s) => s.state === 'offline')!;
    expect(offline.reason).toBeTruthy();
    await server.restart();
    await sub.until(
      () =>
        statuses()
          .slice(before)
          .some((s, i, all) => s.state === 'online' && all.slice(0, i).some((p) => p.state === 'offline')),
      20_000,
      'online again',
    );
    expect(gateway.cameras.get('cam-1').status().stream?.reconnects).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it('screens an xray-display camera and mutes it for TIP over HTTP and MQTT', async () => {
    const display = () =>
      (get('/api/v1/cameras/disp-1') as Promise<{ json(): unknown }>).then(
        (r) => (r.json() as { display: { frames: number; tip: boolean } }).display,
      );
    await waitFor('display frames screened', async () => (await display()).frames >= 3, 15_000);
    const put = await gateway.server.inject({
      method: 'PUT',
      url: '/api/v1/cameras/disp-1/tip',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { active: true },
    });
    expect(put.json()).toEqual({ id: 'disp-1', tip: true });
    await sub.until(() => statuses('disp-1').at(-1)?.tip === true, 5000, 'tip on in the device status');
    expect((await display()).tip).toBe(true);
    await sub.client.publishAsync(topics.tipSet('test-site', 'disp-1'), JSON.stringify({ active: false }), {
      qos: 1,
    });
    await sub.until(() => statuses('disp-1').at(-1)?.tip === false, 5000, 'tip off over MQTT');
    // Garbage on the command topic is logged and ignored; the gateway stays up.
    await sub.client.publishAsync(topics.tipSet('test-site', 'disp-1'), 'not json', { qos: 1 });
    await sub.client.publishAsync(topics.tipSet('test-site', 'cam-1'), JSON.stringify({ active: true }), {
      qos: 1,
    });
    expect((await get('/healthz')).statusCode).toBe(200);
    expect(gateway.cameras.get('cam-1').tip()).toBeUndefined();
  }, 30_000);

  it('refuses TIP on a scene camera and unknown cameras with clear errors', async () => {
    const put = (id: string) =>
      gateway.server.inject({
        method: 'PUT',
        url: `/api/v1/cameras/${id}/tip`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: { active: true },
      });
    const scene = await put('cam-1');
    expect(scene.statusCode).toBe(404);
    expect(scene.json()).toMatchObject({ error: { code: 'PG_TIP_UNKNOWN_DEVICE' } });
    expect((await get('/api/v1/cameras/nope')).json()).toMatchObject({
      error: { code: 'PG_CAMERA_UNKNOWN' },
    });
    expect((await gateway.server.inject({ method: 'GET', url: '/api/v1/cameras' })).statusCode).toBe(401);
  });
});
