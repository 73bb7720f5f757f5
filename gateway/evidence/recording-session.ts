/**
 * One ffmpeg process of a recorder: its command line, and the turning of the segments it reports
 * into named ring segments. ffmpeg writes under a raw name unique to the process; once a segment is
 * known to be complete it is renamed to `<seq>-<session>-<startMs>-<endMs>.ts` and added to the ring.
 */
import { existsSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { secretsOf } from '../../adapters/rtsp/faults.js';
import { type ErrorCode, PgError } from '../../config/shared/errors.js';
import { type Logger, redactUrl } from '../../config/shared/log.js';
import { FfmpegProcess, type ProcessEnd } from './ffmpeg-process.js';
import { RAW_PREFIX, type Ring, type Segment, segmentName } from './ring.js';
import { type ListEntry, parseListLine, StreamClock } from './segment-clock.js';

export interface RecorderArgs {
  url: string;
  transport: 'tcp' | 'udp';
  timeoutMs: number;
  segmentSeconds: number;
  /** Output pattern with one `%06d`, any other `%` escaped. */
  pattern: string;
}

/** The ffmpeg command line, for spawn without a shell: the URL is one argument whatever it holds. */
export function buildRecorderArgs(a: RecorderArgs): string[] {
  if (!/^rtsps?:\/\//i.test(a.url)) {
    throw new PgError('CONFIG_INVALID', `stream URL must be rtsp:// or rtsps://: ${redactUrl(a.url)}`);
  }
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'],
    ...['-rtsp_transport', a.transport],
    // Microseconds; without it ffmpeg waits forever on a camera that stopped answering.
    ...['-timeout', String(Math.round(a.timeoutMs * 1000))],
    ...['-allowed_media_types', 'video', '-i', a.url],
    ...['-map', '0:v:0', '-c', 'copy', '-f', 'segment', '-segment_time', String(a.segmentSeconds)],
    // No -reset_timestamps: timestamps stay continuous across a process's segments, which is what
    // HLS players need; the clip cutter's concat demuxer rebases each file anyway.
    ...['-segment_format', 'mpegts', '-segment_list', 'pipe:1', '-segment_list_type', 'csv'],
    a.pattern,
  ];
}

export interface RecordingSessionOptions extends Omit<RecorderArgs, 'pattern'> {
  dir: string;
  ffmpegPath: string;
  killGraceMs: number;
  ring: Ring;
  log: Logger;
  /** Runs ring changes one at a time (shared with pruning and the quota). */
  serial(fn: () => Promise<void>): Promise<void>;
  onSegment(s: Segment): void;
  onWriteError(err: unknown): void;
}

interface Pending extends ListEntry {
  at: number;
  confirmed: boolean;
}

let tagCounter = 0;

export class RecordingSession {
  readonly proc: FfmpegProcess;
  /** When the last segment line arrived; null before the first. */
  lastLineAt: number | null = null;
  segments = 0;
  /** Why the supervisor ended it (stall), when it did. */
  fault: { code: ErrorCode; reason: string } | null = null;
  private readonly prefix = `${RAW_PREFIX}${Date.now()}-${++tagCounter}-`;
  private readonly clock = new StreamClock();
  private readonly pending: Pending[] = [];
  private ordinal: number | null = null;
  private prev: { end: number; endMs: number } | null = null;

  constructor(private readonly o: RecordingSessionOptions) {
    this.proc = new FfmpegProcess({
      ffmpegPath: o.ffmpegPath,
      args: buildRecorderArgs({ ...o, pattern: join(o.dir.replace(/%/g, '%%'), `${this.prefix}%06d.ts`) }),
      secrets: secretsOf(o.url),
      killGraceMs: o.killGraceMs,
      onLine: (line, at) => this.onLine(line, at),
    });
  }

  /** Waits for the process to exit, then keeps what it finished and deletes what it did not. */
  async ended(): Promise<ProcessEnd> {
    const end = await this.proc.ended;
    await this.o.serial(() => this.drain(true));
    await this.o.serial(async () => {
      const names = await readdir(this.o.dir).catch(() => [] as string[]);
      const raw = names.filter((n) => n.startsWith(this.prefix));
      await Promise.all(raw.map((n) => rm(join(this.o.dir, n), { force: true })));
    });
    return end;
  }

  /** Called on a timer: finishes segments whose successor has appeared since. */
  poll(): void {
    if (this.pending.length > 0) void this.o.serial(() => this.drain(false));
  }

  private onLine(line: string, at: number): void {
    const e = parseListLine(line);
    // Only names of this process's pattern: anything else on stdout is not a segment of ours.
    if (!e || basename(e.file) !== e.file || !e.file.startsWith(this.prefix)) {
      this.o.log.debug({ line: line.slice(0, 200) }, 'unexpected ffmpeg output');
      return;
    }
    this.lastLineAt = at;
    this.pending.push({ ...e, at, confirmed: false });
    void this.o.serial(() => this.drain(false));
  }

  /**
   * A segment is complete once the next raw file exists (ffmpeg opens it only after closing this one,
   * and only because a key frame arrived, which makes the line's arrival a clock observation) or the
   * process is gone. The first of a process waits for a second observation, so that the burst after
   * ffmpeg's start-up probe does not set its time.
   */
  private async drain(ended: boolean): Promise<void> {
    for (const e of this.pending) {
      if (e.confirmed) continue;
      if (!existsSync(join(this.o.dir, nextRawName(e.file)))) break;
      e.confirmed = true;
      this.clock.observe(e.end, e.at);
    }
    while (this.pending.length > 0) {
      const e = this.pending[0]!;
      if (!ended && (!e.confirmed || this.clock.samples < 2)) break;
      if (!e.confirmed) this.clock.observeLoosely(e.end, e.at);
      this.pending.shift();
      await this.finish(e);
    }
  }

  private async finish(e: Pending): Promise<void> {
    const raw = join(this.o.dir, e.file);
    let startMs = this.clock.toWall(e.start) ?? e.at;
    // Back to back within a process: the same stream instant, so the same wall time, with no seam.
    if (this.prev) {
      startMs =
        Math.abs(e.start - this.prev.end) < 0.0005 ? this.prev.endMs : Math.max(startMs, this.prev.endMs);
    }
    const endMs = Math.max(startMs + 1, this.clock.toWall(e.end) ?? e.at);
    try {
      const bytes = (await stat(raw)).size;
      if (bytes === 0) {
        await rm(raw, { force: true });
        return;
      }
      this.ordinal ??= this.o.ring.nextSession();
      const parts = { seq: this.o.ring.nextSeq(), session: this.ordinal, startMs, endMs };
      const name = segmentName(parts);
      const path = join(this.o.dir, name);
      await rename(raw, path);
      const seg: Segment = { ...parts, name, path, bytes };
      this.o.ring.add(seg);
      this.prev = { end: e.end, endMs };
      this.segments++;
      this.o.onSegment(seg);
    } catch (err) {
      this.o.onWriteError(err);
    }
  }
}

/** raw-…-000007.ts → raw-…-000008.ts */
function nextRawName(file: string): string {
  return file.replace(/(\d+)\.ts$/, (_m, n: string) => `${String(Number(n) + 1).padStart(n.length, '0')}.ts`);
}
