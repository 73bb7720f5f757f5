import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Writable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ulid } from 'ulid';
import { Quarantine } from '../../../adapters/xray/quarantine.js';
import { type XrayConfig, xraySchema } from '../../../config/schema.js';
import { createLogger, type Logger } from '../../../config/shared/log.js';
import type { ScanIntake, ScanSubmission } from '../../../config/shared/types.js';

export const LIMITS = { maxImagePixels: 40_000_000, maxImageBytes: 64 * 1024 * 1024 };

export async function tempDir(prefix = 'pg-xray-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A grey X-ray-sized JPEG with some noise so its size is realistic. */
export async function jpeg(width = 1180, height = 640, seed = 1): Promise<Buffer> {
  const noise = Buffer.alloc(width * height);
  let x = seed * 2654435761;
  for (let i = 0; i < noise.length; i += 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    noise[i] = 96 + ((x >>> 16) & 63);
  }
  return sharp(noise, { raw: { width, height, channels: 1 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

export async function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#777' } })
    .png()
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A small, valid PNG whose IHDR claims width×height: a decompression bomb as far as any header reader can tell. */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 24-bit bottom-up BMP with a left-to-right red ramp, or an 8-bit grey palette BMP. */
export function bmp(width: number, height: number, bits: 24 | 8 = 24): Buffer {
  const stride = Math.floor((bits * width + 31) / 32) * 4;
  const palette = bits === 8 ? 256 * 4 : 0;
  const offset = 54 + palette;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bits, 28);
  for (let i = 0; i < palette / 4; i += 1) buf.fill(i, 54 + i * 4, 54 + i * 4 + 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const v = Math.round((x * 255) / Math.max(1, width - 1));
      if (bits === 24) buf.writeUIntLE(v << 16, offset + y * stride + x * 3, 3);
      else buf[offset + y * stride + x] = v;
    }
  }
  return buf;
}

export function machine(
  over: Record<string, unknown> = {},
  hotFolder: Record<string, unknown> | null = {},
): XrayConfig {
  return xraySchema.parse({
    id: 'xr-01',
    name: 'Line 1',
    models: ['prohibited'],
    ...(hotFolder
      ? { hotFolder: { path: 'unused', pollMs: 20, stableMs: 100, pairTimeoutMs: 400, ...hotFolder } }
      : {}),
    ...over,
  });
}

export interface Submitted extends ScanSubmission {
  scanId: string;
  /** Where each image went, by view. */
  landed: Record<string, string>;
}

/**
 * Behaves like the gateway's intake: claims a submission by moving its files out of the folder into
 * a processing area before resolving. Can be told to fail, to see the adapter retry.
 */
export class FakeIntake implements ScanIntake {
  readonly submitted: Submitted[] = [];
  attempts = 0;
  failNext = 0;
  failWith: Error = new Error('store unavailable');
  /** Simulated claim time, to see that nothing is submitted twice while a claim is pending. */
  delayMs = 0;

  constructor(private readonly processing: string) {}

  async submit(sub: ScanSubmission): Promise<{ scanId: string }> {
    this.attempts += 1;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw this.failWith;
    }
    const scanId = ulid();
    const dir = join(this.processing, scanId);
    await mkdir(dir, { recursive: true });
    const landed: Record<string, string> = {};
    for (const im of sub.images) {
      landed[im.view] = join(dir, `${im.view}${extname(im.path)}`);
      await rename(im.path, landed[im.view]!);
    }
    for (const [i, c] of sub.companions.entries()) await rename(c, join(dir, `companion-${i}${extname(c)}`));
    this.submitted.push({ ...structuredClone(sub), scanId, landed });
    return { scanId };
  }
}

/** A logger whose lines are kept for assertions (and kept off the test output). */
export function captureLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  return { log, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export function quarantineFor(dataDir: string, log: Logger) {
  const counted: Array<{ source: string; code: string }> = [];
  const q = new Quarantine({ dataDir, log, onQuarantine: (source, code) => counted.push({ source, code }) });
  return { q, counted };
}

export interface QuarantineEntry {
  dir: string;
  reason: {
    code: string;
    message: string;
    source: string;
    originalName: string | null;
    files: Array<{ name: string; originalName: string; stored: boolean }>;
  };
  files: string[];
}

export async function quarantined(dataDir: string): Promise<QuarantineEntry[]> {
  const root = join(dataDir, 'quarantine');
  let dirs: string[];
  try {
    dirs = (await readdir(root)).sort();
  } catch {
    // No quarantine directory yet means nothing was quarantined.
    return [];
  }
  const out: QuarantineEntry[] = [];
  for (const d of dirs) {
    const dir = join(root, d);
    let text: string;
    try {
      text = await readFile(join(dir, 'reason.json'), 'utf8');
    } catch {
      // reason.json is written last: without it the entry is still being made.
      continue;
    }
    const reason = JSON.parse(text) as QuarantineEntry['reason'];
    out.push({ dir, reason, files: (await readdir(dir)).filter((f) => f !== 'reason.json').sort() });
  }
  return out;
}

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls until the probe returns something truthy, and returns that. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 5000,
): Promise<Truthy<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as Truthy<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
