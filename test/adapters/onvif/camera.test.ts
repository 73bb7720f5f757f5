import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OnvifCamera } from '../../../adapters/onvif/camera.js';
import { isOnvifError, type OnvifError } from '../../../adapters/onvif/errors.js';
import { createLogger } from '../../../config/shared/log.js';
import { type FakeOnvif, startFakeOnvif } from '../../support/fake-onvif.js';

const USER = 'admin';
// Characters that need percent-encoding in a URL and would be easy to find if they leaked.
const PASSWORD = 'S3cr3t:p@ss/word';

async function rejection(p: Promise<unknown>): Promise<OnvifError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!isOnvifError(err)) throw err;
  return err;
}

function captureLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination: stream }), text: () => lines.join('') };
}

const fakes: FakeOnvif[] = [];
async function fake(opts: Parameters<typeof startFakeOnvif>[0] = {}): Promise<FakeOnvif> {
  const f = await startFakeOnvif({ username: USER, password: PASSWORD, ...opts });
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

describe('OnvifCamera against the fake device', () => {
  it('initialises, lists profiles, picks the best H.264 profile and resolves its URIs', async () => {
    const device = await fake({
      streamUris: { profile_main: 'rtsp://10.0.4.14:554/Streaming/Channels/101' },
    });
    const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: PASSWORD });
    const summary = await camera.connect();

    expect(summary.device).toEqual({
      manufacturer: 'Fakecam',
      model: 'FK-100',
      firmware: '1.2.3',
      serial: 'SN0001',
    });
    expect(summary.profiles.map((p) => [p.token, p.name, p.width, p.height, p.encoding, p.fps])).toEqual([
      ['profile_sub', 'SubStream', 640, 360, 'H264', 15],
      ['profile_main', 'MainStream', 1920, 1080, 'H264', 25],
    ]);
    expect(summary.profile).toBe('profile_main');
    expect(camera.streamUri).toBe('rtsp://10.0.4.14:554/Streaming/Channels/101');
    expect(summary.snapshotUri).toBe(`http://127.0.0.1:${device.port}/onvif/snapshot?token=profile_main`);
    // Credentials are percent-encoded so ffmpeg parses the URL as meant.
    expect(camera.streamUriWithCredentials()).toBe(
      'rtsp://admin:S3cr3t%3Ap%40ss%2Fword@10.0.4.14:554/Streaming/Channels/101',
    );
    // The authenticated operations really were authenticated with a valid digest.
    expect(device.calls.filter((c) => c.op === 'GetProfiles')).toEqual([{ op: 'GetProfiles', auth: 'ok' }]);
  });

  it('uses the configured profile by token or by name', async () => {
    const device = await fake();
    const byToken = new OnvifCamera({
      xaddr: device.xaddr,
      username: USER,
      password: PASSWORD,
      profile: 'profile_sub',
    });
    expect((await byToken.connect()).profile).toBe('profile_sub');
    const byName = new OnvifCamera({
      xaddr: device.xaddr,
      username: USER,
      password: PASSWORD,
      profile: 'SubStream',
    });
    expect((await byName.connect()).profile).toBe('profile_sub');
    expect(byName.streamUri).toBe('rtsp://127.0.0.1:8554/profile_sub');
  });

  it('names the available profiles when the configured one does not exist', async () => {
    const device = await fake();
    const camera = new OnvifCamera({
      xaddr: device.xaddr,
      username: USER,
      password: PASSWORD,
      profile: 'Profile_9',
    });
    const err = await rejection(camera.connect());
    expect(err.code).toBe('ONVIF_PROFILE_UNKNOWN');
    expect(err.message).toContain('"Profile_9" not found');
    expect(err.details).toEqual({
      device: { profiles: expect.stringContaining('profile_main (MainStream') },
    });
  });

  it('prefers H.264 over a higher-resolution MJPEG profile', async () => {
    const device = await fake({
      profiles: [
        { token: 'mjpeg', name: 'Mjpeg', width: 2560, height: 1440, encoding: 'JPEG', fps: 10 },
        { token: 'h264_720', name: 'HD', width: 1280, height: 720, encoding: 'H264', fps: 25 },
        { token: 'h264_360', name: 'SD', width: 640, height: 360, encoding: 'H264', fps: 25 },
      ],
    });
    const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: PASSWORD });
    expect((await camera.connect()).profile).toBe('h264_720');
  });

  it('fetches the snapshot as JPEG bytes behind Digest and behind Basic auth', async () => {
    for (const snapshotAuth of ['digest', 'basic'] as const) {
      const device = await fake({ snapshotAuth });
      const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: PASSWORD });
      await camera.connect();
      const jpeg = await camera.snapshot();
      expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(jpeg.length).toBeGreaterThan(100);
      // First an unauthenticated request, then the answer to the camera's challenge.
      expect(device.snapshotRequests).toBe(2);
    }
  });

  it('treats an empty snapshot as an error, and a non-JPEG body too', async () => {
    const device = await fake({ snapshot: 'empty' });
    const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: PASSWORD });
    await camera.connect();
    const empty = await rejection(camera.snapshot());
    expect(empty.code).toBe('SNAPSHOT_EMPTY');
    expect(empty.message).toContain('empty snapshot');
    device.setSnapshot(Buffer.from('<html>not an image</html>'));
    expect((await rejection(camera.snapshot())).code).toBe('SNAPSHOT_FAILED');
  });

  it.each([401, 400] as const)(
    'refuses a wrong password (device answers HTTP %i) with a clear error',
    async (status) => {
      const device = await fake({ authFailureStatus: status });
      const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: 'wrong' });
      const err = await rejection(camera.connect());
      expect(err.code).toBe('ONVIF_AUTH');
      expect(err.message).toBe(`ONVIF authentication failed for ${device.xaddr} (check username/password)`);
      expect(err.toJSON().code).toBe('PG_ONVIF_AUTH');
      expect(camera.connected).toBe(false);
      expect(device.calls.find((c) => c.op === 'GetDeviceInformation')?.auth).toBe('bad');
    },
  );

  it('refuses a missing username like a wrong one', async () => {
    const device = await fake();
    const err = await rejection(new OnvifCamera({ xaddr: device.xaddr }).connect());
    expect(err.code).toBe('ONVIF_AUTH');
  });
});

describe('OnvifCamera when the device cannot be reached', () => {
  let blackHole: Server;
  const held: Socket[] = [];
  let holePort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    // Accepts TCP connections and never answers: a hung camera or a firewall that drops replies.
    blackHole = createServer((s) => held.push(s));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    holePort = (blackHole.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  it('says the address is unreachable when the connection is refused', async () => {
    const xaddr = `http://127.0.0.1:${closedPort}/onvif/device_service`;
    const err = await rejection(new OnvifCamera({ xaddr, username: USER, password: PASSWORD }).connect());
    expect(err.code).toBe('ONVIF_UNREACHABLE');
    expect(err.message).toBe(`ONVIF device at ${xaddr} is unreachable (connection refused)`);
  });

  it('gives up within its timeout when the device never answers', async () => {
    const xaddr = `http://127.0.0.1:${holePort}/onvif/device_service`;
    const camera = new OnvifCamera({ xaddr, username: USER, password: PASSWORD }, { timeoutMs: 600 });
    const started = Date.now();
    const err = await rejection(camera.connect());
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(err.code).toBe('ONVIF_UNREACHABLE');
    expect(err.message).toBe(`ONVIF device at ${xaddr} did not finish initialising within 0.6 s`);
  });

  it('stops waiting when the caller aborts', async () => {
    const xaddr = `http://127.0.0.1:${holePort}/onvif/device_service`;
    const camera = new OnvifCamera({ xaddr, username: USER, password: PASSWORD }, { timeoutMs: 10_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const err = await rejection(camera.connect(abort.signal));
    expect(err.message).toContain('was cancelled');
  });

  it('rejects an https xaddr up front (node-onvif speaks plain HTTP only)', async () => {
    const err = await rejection(
      new OnvifCamera({ xaddr: 'https://10.0.0.9/onvif/device_service' }).connect(),
    );
    expect(err.message).toContain('must be an http:// URL');
  });
});

describe('credentials stay out of logs and answers', () => {
  it('never shows the password in redacted URIs, summaries, JSON, inspect output or log lines', async () => {
    // The device embeds credentials in its own stream URI, as some do.
    const device = await fake({
      streamUris: {
        profile_main: `rtsp://${USER}:${encodeURIComponent(PASSWORD)}@10.0.4.14/live?password=QueryPw99`,
      },
    });
    const { log, text } = captureLog();
    const camera = new OnvifCamera({ xaddr: device.xaddr, username: USER, password: PASSWORD }, { log });
    const summary = await camera.connect();
    await camera.snapshot();
    const wrong = new OnvifCamera(
      { xaddr: device.xaddr, username: USER, password: `${PASSWORD}-old` },
      { log },
    );
    await rejection(wrong.connect());

    expect(camera.streamUri).toBe('rtsp://***@10.0.4.14/live?password=***');
    const secrets = [PASSWORD, encodeURIComponent(PASSWORD), 'QueryPw99'];
    const shown = [
      camera.streamUri,
      JSON.stringify(summary),
      JSON.stringify(camera),
      JSON.stringify(camera.profiles),
      inspect(camera, { depth: 10, showHidden: true }),
      inspect(wrong, { depth: 10, showHidden: true }),
      text(),
    ];
    for (const s of shown) for (const secret of secrets) expect(s).not.toContain(secret);
    expect(text()).toContain('onvif camera ready');
    expect(text()).toContain('onvif camera init failed');
    // The device-provided model is nested, never a top-level log field.
    const ready = JSON.parse(text().split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(ready.model).toBeUndefined();
    expect(ready.device).toMatchObject({ model: 'FK-100' });
  });
});

afterAll(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});
