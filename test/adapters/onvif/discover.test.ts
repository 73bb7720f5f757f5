import { spawn, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { DiscoveredDevice } from '../../../adapters/onvif/discovery.js';
import { cameraSchema } from '../../../config/schema.js';
import { discover } from '../../../gateway/cli/discover.js';
import { type FakeOnvif, startFakeOnvif } from '../../support/fake-onvif.js';

const PASSWORD = 'discover-Secret-7';

async function run(args: string[], probe: (ms: number) => Promise<DiscoveredDevice[]>, env = {}) {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(chunk.toString('utf8'));
        cb();
      },
    });
  const code = await discover(args, { out: sink(chunks.out), err: sink(chunks.err), env, probe });
  return { code, out: chunks.out.join(''), err: chunks.err.join('') };
}

describe('parcelguard discover (probe replaced, no multicast needed)', () => {
  let device: FakeOnvif;
  let found: DiscoveredDevice[];
  beforeAll(async () => {
    device = await startFakeOnvif({ username: 'viewer', password: PASSWORD });
    found = [
      {
        urn: device.urn,
        xaddr: device.xaddr,
        xaddrs: [device.xaddr, 'http://[fe80::1]/onvif/device_service'],
        name: 'Fake Camera',
        hardware: 'FK-100',
        location: null,
      },
    ];
  });
  afterAll(() => device.stop());

  it('prints a config entry with profiles that validates against the camera schema, without the password', async () => {
    const r = await run(
      ['--timeout', '0.2', '--username', 'viewer', '--password', PASSWORD],
      async () => found,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('# Fakecam, FK-100, firmware 1.2.3, serial SN0001');
    expect(r.out).toContain('# profile profile_main "MainStream": 1920x1080 H264 25 fps (chosen)');
    expect(r.out).toContain('# profile profile_sub "SubStream": 640x360 H264 15 fps');
    expect(r.out).not.toContain(PASSWORD);
    const entries = parseYaml(r.out) as unknown[];
    expect(entries).toHaveLength(1);
    const camera = cameraSchema.parse(entries[0]);
    expect(camera).toMatchObject({
      id: 'cam-fk-100-1',
      name: 'Fakecam FK-100 (127.0.0.1)',
      onvif: { xaddr: device.xaddr, username: 'viewer', password: '', profile: 'profile_main' },
    });
  });

  it('prints JSON with --json, takes the password from the environment, never prints it', async () => {
    const r = await run(['--json', '--username', 'viewer'], async () => found, {
      PARCELGUARD_ONVIF_PASSWORD: PASSWORD,
    });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(PASSWORD);
    const [entry] = JSON.parse(r.out) as Array<Record<string, unknown>>;
    expect(entry).toMatchObject({
      urn: device.urn,
      device: { model: 'FK-100' },
      best: 'profile_main',
      error: null,
      config: {
        id: 'cam-fk-100-1',
        onvif: { xaddr: device.xaddr, username: 'viewer', profile: 'profile_main' },
      },
    });
  });

  it('still lists a device whose credentials are wrong, with the reason as a comment', async () => {
    const r = await run(['--username', 'viewer', '--password', 'wrong'], async () => found);
    expect(r.code).toBe(0);
    expect(r.out).toContain('# could not read profiles: ONVIF authentication failed for');
    expect(r.out).toContain('[PG_ONVIF_AUTH]');
    expect(r.out).not.toContain('profile:');
    // Without profiles the id falls back to the hardware scope the device announced.
    expect(r.out).toContain('- id: cam-fk-100-1');
  });

  it('exits 1 with a hint when nothing answers, 2 on bad arguments', async () => {
    const none = await run(['--timeout', '0.1'], async () => []);
    expect(none.code).toBe(1);
    expect(none.err).toContain('no ONVIF devices answered');
    expect((await run(['--timeout', 'soon'], async () => [])).code).toBe(2);
    expect((await run(['--password', 'x'], async () => [])).code).toBe(2);
    expect((await run(['--bogus'], async () => [])).code).toBe(2);
  });
});

/** Why the namespace test cannot run here, or null when it can. */
function netnsSkipReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'not root: `unshare --net` and `ip route add` need root';
  const unshare = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
  if (unshare.error) return `unshare is unavailable (${unshare.error.message}); install util-linux`;
  if (unshare.status !== 0) return `unshare --net failed: ${unshare.stderr.trim()}`;
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error) return `ip is unavailable (${ip.error.message}); install iproute2`;
  return null;
}

const skipReason = netnsSkipReason();
if (skipReason) console.warn(`WS-Discovery namespace test skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(
  `parcelguard discover over WS-Discovery in a network namespace${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('finds the fake device by multicast probe and prints it with its profiles', async () => {
      const script = [
        'set -e',
        'ip link set lo up',
        'ip link set lo multicast on',
        'ip route add 224.0.0.0/4 dev lo',
        'exec node --import tsx test/adapters/onvif/netns-discover.ts',
      ].join('\n');
      const child = spawn('unshare', ['--net', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, stderr).toBe(0);
      const line = stdout.trim().split('\n').pop() ?? '';
      const r = JSON.parse(line) as {
        xaddr: string;
        urn: string;
        password: string;
        probed: DiscoveredDevice[];
        code: number;
        out: string;
        err: string;
      };
      // Nine probes went out (three types, three tries); the device is listed once, as announced.
      expect(r.probed).toEqual([
        {
          urn: r.urn,
          xaddr: r.xaddr,
          xaddrs: [r.xaddr],
          name: 'Fake Camera',
          hardware: 'FK-200',
          location: 'test bench',
        },
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`xaddr: "${r.xaddr}"`);
      expect(r.out).toContain(r.urn);
      expect(r.out).toContain('Fakecam, FK-200');
      expect(r.out).toContain('profile: "profile_main"');
      expect(r.out).not.toContain(r.password);
    }, 25_000);
  },
);
