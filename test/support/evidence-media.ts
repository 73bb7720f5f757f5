/**
 * Video evidence test helpers: real MPEG-TS segments made by ffmpeg (so cuts, snapshots and players
 * get real media) laid out as a ring, a ring-backed source that stands in for a recorder, and ffprobe.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../config/shared/log.js';
import type { RecorderStatus } from '../../gateway/evidence/recorder-status.js';
import { Ring, type Segment, segmentName } from '../../gateway/evidence/ring.js';

/** One second of 160×120 test picture at 10 fps, H.264 in MPEG-TS, key frame first. */
export function makeSampleSegment(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'sample.ts.src');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi'],
    ...['-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast'],
    ...['-g', '10', '-pix_fmt', 'yuv420p', '-f', 'mpegts', '-y', path],
  ]);
  return path;
}

export interface ProbeResult {
  format: { duration?: string; start_time?: string; tags?: Record<string, string> };
  streams: Array<{ codec_name?: string; codec_type?: string; width?: number; height?: number }>;
}

export function ffprobe(path: string): ProbeResult {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as ProbeResult;
}

/**
 * A ring on disk filled with copies of one real segment, each named as a recorder would name it, that
 * serves as the recorder for clips, the live view and the quota. `add` appends a segment (and tells
 * listeners) the way a recorder does when ffmpeg closes one.
 */
export class RingSource {
  readonly ring: Ring;
  readonly settings: { preSeconds: number; postSeconds: number; segmentSeconds: number };
  limited: boolean | null = null;
  private readonly listeners = new Set<(s: Segment) => void>();

  constructor(
    readonly id: string,
    readonly dir: string,
    private readonly sample: string,
    log: Logger,
    settings: Partial<RingSource['settings']> = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.ring = new Ring(dir, log);
    this.settings = { preSeconds: 3, postSeconds: 3, segmentSeconds: 1, ...settings };
  }

  /** Appends a segment [startMs, startMs + durMs) of `session`; returns it. */
  add(startMs: number, durMs = 1000, session = 1): Segment {
    const parts = { seq: this.ring.nextSeq(), session, startMs, endMs: startMs + durMs };
    const name = segmentName(parts);
    const path = join(this.dir, name);
    copyFileSync(this.sample, path);
    const seg: Segment = { ...parts, name, path, bytes: statSync(path).size };
    this.ring.add(seg);
    for (const l of this.listeners) l(seg);
    return seg;
  }

  /** `count` back-to-back segments from `startMs`. */
  fill(startMs: number, count: number, durMs = 1000, session = 1): Segment[] {
    return Array.from({ length: count }, (_, i) => this.add(startMs + i * durMs, durMs, session));
  }

  segments(): readonly Segment[] {
    return this.ring.list();
  }

  findSegment(name: string): Segment | undefined {
    return this.ring.find(name);
  }

  pin(fromMs: number, toMs: number): () => void {
    return this.ring.pin(fromMs, toMs);
  }

  onSegment(listener: (s: Segment) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  ringBytes(): number {
    return this.ring.bytes();
  }

  shrink(bytes: number, keep: number): Promise<number> {
    return this.ring.shrink(bytes, keep);
  }

  setQuotaLimited(limited: boolean): void {
    this.limited = limited;
  }

  status(): RecorderStatus {
    return {
      id: this.id,
      state: 'online',
      reason: null,
      code: null,
      since: new Date().toISOString(),
      lastSegmentAt: null,
      segments: this.ring.list().length,
      heldSeconds: this.ring.heldMs() / 1000,
      reconnects: 0,
    };
  }
}
