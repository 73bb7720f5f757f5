import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../config/load.js';
import { CURRENT_VERSION } from '../../config/schema.js';

const model = {
  name: 'prohibited',
  version: '1',
  path: 'm.onnx',
  input: { width: 640, height: 640 },
  output: 'yolov8',
  labels: [{ name: 'knife', category: 'prohibited' }],
};
// biome-ignore lint/suspicious/noExplicitAny: the table mutates arbitrary, deliberately wrong config shapes.
type Raw = Record<string, any>;
const base = () => ({ version: 1, site: { id: 'pt-sc-03', name: 'SC3' }, models: [structuredClone(model)] });

function issues(raw: unknown, env = {}): string[] {
  try {
    parseConfig(raw, { env, baseDir: '/etc/pg' });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('config examples', () => {
  const dir = join(import.meta.dirname, '../../config/examples');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} is valid`, () => {
      const { config } = loadConfigFile(join(dir, file), {});
      expect(config.version).toBe(CURRENT_VERSION);
      expect(config.models.length).toBeGreaterThan(0);
    });
  }
  it('centre.yaml has 4 machines (one dual-view), a display-captured fifth and 7 cameras; outlet.yaml 1 and 2', () => {
    const centre = loadConfigFile(join(dir, 'centre.yaml'), {}).config;
    expect(centre.xray).toHaveLength(4);
    expect(centre.xray.filter((x) => x.views.length === 2)).toHaveLength(1);
    expect(centre.cameras).toHaveLength(7);
    const display = centre.cameras.find((c) => c.role === 'xray-display');
    expect(display?.display.roi).toEqual({ x: 0, y: 0.08, width: 1, height: 0.8 });
    expect(centre.cameras.find((c) => c.id === 'cam-l5')?.linkedTo).toEqual([display?.id]);
    // Defaults filled in for a camera that sets none.
    expect(centre.cameras[0]).toMatchObject({
      stream: { fps: 2, width: 640, height: 360, transport: 'tcp', timeoutMs: 5000 },
      record: { enabled: true, ringSeconds: 120, segmentSeconds: 2, preSeconds: 10, postSeconds: 10 },
      tamper: { enabled: true },
    });
    const outlet = loadConfigFile(join(dir, 'outlet.yaml'), {}).config;
    expect([outlet.xray.length, outlet.cameras.length]).toEqual([1, 2]);
  });
});

describe('config accepts', () => {
  it('a minimal config, filling defaults, resolving paths against the config directory, frozen', () => {
    const { config } = parseConfig(base(), { baseDir: '/etc/pg' });
    expect(config.dataDir).toBe('/etc/pg/data');
    expect(config.models[0]!.path).toBe('/etc/pg/m.onnx');
    expect(config.models[0]!.input.layout).toBe('nchw');
    expect(config.models[0]!.labels[0]!.alarm).toBe(true);
    expect(config.inference.workers).toBe(1);
    expect(config.http.port).toBe(8080);
    expect(Object.isFrozen(config.models[0]!.input)).toBe(true);
  });
  it('an unversioned config, migrated forward to the current version', () => {
    const raw: Record<string, unknown> = base();
    delete raw.version;
    const { config, migrations } = parseConfig(raw);
    expect(config.version).toBe(CURRENT_VERSION);
    expect(migrations).toHaveLength(1);
  });
  it('secrets and ports from the environment', () => {
    const { config } = parseConfig(base(), {
      env: {
        PARCELGUARD_MQTT_PASSWORD: 's3cret',
        PARCELGUARD_HTTP_PORT: '9090',
        PARCELGUARD_MQTT_URL: 'mqtt://b:1883',
      },
    });
    expect(config.mqtt.password).toBe('s3cret');
    expect(config.mqtt.url).toBe('mqtt://b:1883');
    expect(config.http.port).toBe(9090);
  });
});

describe('config rejects, listing every problem with its path', () => {
  const cases: Array<[string, (c: Raw) => void, string[]]> = [
    ['a typo in a key', (c) => (c.sitee = {}), ['(root): unknown key(s) "sitee"']],
    ['a bad site id', (c) => (c.site.id = 'Bad Id'), ['site.id: use lowercase']],
    ['a missing model list', (c) => delete c.models, ['models: ']],
    ['an unknown output layout', (c) => (c.models[0].output = 'yolov9'), ['models[0].output: ']],
    [
      'a threshold above 1',
      (c) => (c.models[0].labels[0].threshold = 1.5),
      ['models[0].labels[0].threshold: '],
    ],
    [
      'an unknown category',
      (c) => (c.models[0].labels[0].category = 'weapon'),
      ['models[0].labels[0].category: '],
    ],
    [
      'a source naming an unknown model',
      (c) => (c.xray = [{ id: 'xr-1', name: 'x', models: ['drugs'] }]),
      ['xray[0].models[0]: unknown model "drugs"'],
    ],
    [
      'three views',
      (c) => (c.xray = [{ id: 'xr-1', name: 'x', models: ['prohibited'], views: ['a', 'b', 'c'] }]),
      ['xray[0].views: '],
    ],
    [
      'duplicate machine ids',
      (c) => (c.xray = [0, 1].map(() => ({ id: 'xr-1', name: 'x', models: ['prohibited'] }))),
      ['xray[1].id: duplicate id "xr-1"'],
    ],
    [
      'a camera with both rtsp and onvif',
      (c) =>
        (c.cameras = [
          { id: 'c1', name: 'c', rtsp: { url: 'rtsp://h/s' }, onvif: { xaddr: 'http://h/onvif' } },
        ]),
      ['cameras[0]: set exactly one'],
    ],
    [
      'a camera linked to an unknown machine',
      (c) => (c.cameras = [{ id: 'c1', name: 'c', rtsp: { url: 'rtsp://h/s' }, linkedTo: ['xr-9'] }]),
      ['cameras[0].linkedTo[0]: unknown X-ray machine'],
    ],
    [
      'a display camera without models, a region outside the picture, a ring shorter than the pre-roll',
      (c) =>
        (c.cameras = [
          {
            id: 'd1',
            name: 'd',
            role: 'xray-display',
            rtsp: { url: 'rtsp://h/s' },
            display: { roi: { x: 0.5, y: 0, width: 0.7, height: 1 } },
            record: { ringSeconds: 10, preSeconds: 30 },
          },
        ]),
      [
        'cameras[0].models: an xray-display camera needs `models`',
        'cameras[0].display.roi: region must lie inside the picture',
        'cameras[0].record: ringSeconds must cover preSeconds',
      ],
    ],
    [
      'an unhashed token',
      (c) => (c.http = { tokens: [{ name: 't', role: 'admin', sha256: 'hunter2' }] }),
      ['http.tokens[0].sha256: '],
    ],
    ['a future version', (c) => (c.version = 99), ['version: ']],
  ];
  for (const [what, mutate, expected] of cases) {
    it(what, () => {
      const raw = base() as Raw;
      mutate(raw);
      const found = issues(raw);
      for (const e of expected)
        expect(
          found.some((f) => f.startsWith(e)),
          `${found.join('\n')}\nexpected: ${e}`,
        ).toBe(true);
    });
  }
  it('several problems at once, all listed', () => {
    const raw = base() as Raw;
    raw.site.id = 'BAD';
    raw.models[0].input.width = 1;
    raw.extra = true;
    expect(issues(raw).length).toBeGreaterThanOrEqual(3);
  });
  it('a non-integer port from the environment', () => {
    expect(issues(base(), { PARCELGUARD_HTTP_PORT: 'eighty' })).toContain(
      '$PARCELGUARD_HTTP_PORT: expected an integer, got "eighty"',
    );
  });
});
