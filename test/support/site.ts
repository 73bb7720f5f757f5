import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { parseConfig } from '../../config/load.js';
import type { Config, ConfigInput } from '../../config/schema.js';
import { Gateway } from '../../gateway/app.js';
import { startMosquitto } from './mosquitto.js';

export const REPO = join(import.meta.dirname, '../..');
export const PROBE_MODEL = join(REPO, 'test/fixtures/models/colour_probe.onnx');
export const ADMIN_TOKEN = 'test-admin-token';
export const DEVICE_TOKEN = 'test-device-token';

export type ParcelKind = 'clean' | 'knife' | 'powder';

/**
 * A parcel picture the colour-probe model has a known verdict on: red-tinted → knife (prohibited),
 * blue-tinted → powder (drug), grey → clear. Some texture so JPEG sizes vary like real scans.
 */
export async function parcelImage(
  kind: ParcelKind,
  seed: number,
  width = 320,
  height = 200,
): Promise<Buffer> {
  const base = { clean: '#9a9a9a', knife: '#e04040', powder: '#4040e0' }[kind];
  const x = 20 + (seed % 7) * 15;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${base}"/><rect x="${x}" y="30" width="80" height="60" fill="#808080" fill-opacity="0.5"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** Writes like a machine does: sidecar first, image under a temporary name, then renamed in place. */
export async function dropScan(folder: string, stem: string, image: Buffer, waybill: string): Promise<void> {
  await writeFile(join(folder, `${stem}.json`), JSON.stringify({ waybill }));
  const tmp = join(folder, `${stem}.jpg.tmp`);
  await writeFile(tmp, image);
  await rename(tmp, join(folder, `${stem}.jpg`));
}

export interface TestSite {
  dir: string;
  inbox: string;
  dataDir: string;
  configPath: string;
  config: Readonly<Config>;
  cleanup(): void;
}

/** A temp site: one single-view machine with a hot folder, the colour-probe model, a real broker URL. */
export function makeSite(opts: { mqttUrl?: string; overrides?: Partial<ConfigInput> } = {}): TestSite {
  const dir = mkdtempSync(join(tmpdir(), 'pg-site-'));
  const inbox = join(dir, 'inbox');
  const dataDir = join(dir, 'data');
  mkdirSync(inbox, { recursive: true });
  const hash = (t: string) => createHash('sha256').update(t).digest('hex');
  const raw: ConfigInput = {
    version: 1,
    site: { id: 'test-site', name: 'Test site' },
    dataDir,
    log: { level: 'warn' },
    http: {
      host: '127.0.0.1',
      port: 0,
      maxUploadMb: 2,
      tokens: [
        { name: 'admin', role: 'admin', sha256: hash(ADMIN_TOKEN) },
        { name: 'xr-1', role: 'device', sha256: hash(DEVICE_TOKEN), devices: ['xr-1'] },
      ],
    },
    mqtt: {
      ...(opts.mqttUrl ? { url: opts.mqttUrl } : { embedded: { port: 0 } }),
      clientId: `pg-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    },
    inference: { workers: 1, intraOpThreads: 1, maxInFlightScans: 4 },
    models: [
      {
        name: 'probe',
        version: 'test-1',
        path: PROBE_MODEL,
        input: { width: 64, height: 64 },
        output: 'yolov8',
        scoreThreshold: 0.3,
        labels: [
          { name: 'knife', category: 'prohibited' },
          { name: 'powder', category: 'drug' },
        ],
      },
    ],
    xray: [
      {
        id: 'xr-1',
        name: 'Test line 1',
        models: ['probe'],
        hotFolder: { path: inbox, stableMs: 100, pollMs: 50 },
      },
    ],
    ...opts.overrides,
  };
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify(raw));
  const { config } = parseConfig(raw, { baseDir: dir });
  return {
    dir,
    inbox,
    dataDir,
    configPath,
    config,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A consumer like the city's: persistent session (QoS 1 queued while it or the broker is away). */
export class AlertCollector {
  readonly messages: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  readonly client: MqttClient;

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
    });
  }

  static async connect(url: string, filter = 'parcelguard/v1/+/alerts/+'): Promise<AlertCollector> {
    const client = connect(url, {
      clientId: `collector-${Math.random().toString(36).slice(2, 10)}`,
      clean: false,
      reconnectPeriod: 200,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return new AlertCollector(client);
  }

  alerts(): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.topic.includes('/alerts/')).map((m) => m.payload);
  }

  /** Alert ids seen per waybill: at-least-once may redeliver, but a parcel must map to one id. */
  idsByWaybill(): Map<string, Set<unknown>> {
    const out = new Map<string, Set<unknown>>();
    for (const a of this.alerts()) {
      const wb = (a.scan as { waybill: string }).waybill;
      out.set(wb, (out.get(wb) ?? new Set()).add(a.id));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Validates payloads against the JSON Schema published in docs/schema/, as a city consumer would. */
export function publishedAlertValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const schema = JSON.parse(readFileSync(join(REPO, 'docs/schema/alert.json'), 'utf8')) as object;
  return ajv.compile(schema);
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The gateway as its own process, `parcelguard run CONFIG`, so a test can kill -9 it. */
export function spawnGateway(configPath: string): {
  child: ChildProcess;
  output: () => string;
  started: Promise<void>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'gateway/cli/main.ts'), 'run', configPath],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PARCELGUARD_LOG_LEVEL: 'info' },
    },
  );
  let out = '';
  const started = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('"gateway started"')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`gateway exited (${code}) before starting:\n${out.slice(-3000)}`)),
    );
  });
  return { child, output: () => out, started };
}

/** A real mosquitto, a site on it, a collector subscribed, and an in-process gateway; stop() undoes all. */
export async function startSiteOnBroker(level = 'warn') {
  const broker = await startMosquitto();
  const site = makeSite({ mqttUrl: broker.url });
  const collector = await AlertCollector.connect(broker.url);
  const gateway = new Gateway({ config: site.config, log: pino({ level }) });
  await gateway.start();
  return {
    broker,
    site,
    collector,
    gateway,
    async stop() {
      await gateway.stop();
      await collector.close();
      await broker.cleanup();
      site.cleanup();
    },
  };
}

/** A 24-bit bottom-up BMP (BGR rows padded to 4 bytes) of raw RGB pixels: how many X-ray machines export. */
export function bmpFromRgb(rgb: Buffer, w: number, h: number): Buffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const out = Buffer.alloc(54 + row * h);
  out.write('BM', 0);
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(w, 18);
  out.writeInt32LE(h, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = 54 + (h - 1 - y) * row + x * 3;
      out[d] = rgb[s + 2]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s]!;
    }
  }
  return out;
}

/** The BMP a machine would export for this JPEG (sharp cannot write BMP). */
export async function bmpOf(jpeg: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return bmpFromRgb(data, info.width, info.height);
}
