/**
 * One camera's evidence ring: a supervised ffmpeg copies the encoded stream (no re-encode) into short
 * MPEG-TS segments, and this class names each closed segment by its wall-clock span (see
 * segment-clock.ts for how that span is measured), deletes what is older than the ring, and keeps
 * ffmpeg running: any exit (code 0 included: ffmpeg ends "normally" when the camera goes away) or a
 * stall is a disconnect, answered by a reconnect with capped exponential backoff.
 */
import { mkdir, stat } from 'node:fs/promises';
import type { z } from 'zod';
import { type BackoffOptions, backoffDelay, classifyExit } from '../../adapters/rtsp/faults.js';
import type { recordSettingsSchema } from '../../config/schema.js';
import { type ErrorCode, errorMessage } from '../../config/shared/errors.js';
import { type Component, notifyAll } from '../../config/shared/lifecycle.js';
import { type Logger, redactUrl } from '../../config/shared/log.js';
import type { ProcessEnd } from './ffmpeg-process.js';
import { type RecorderStatus, RecorderStatusBoard, type RecorderStatusListener } from './recorder-status.js';
import { buildRecorderArgs, RecordingSession } from './recording-session.js';
import { Ring, type Segment } from './ring.js';

export type RecordSettings = z.output<typeof recordSettingsSchema>;

export interface SegmentRecorderOptions {
  /** Camera id. */
  id: string;
  /** rtsp:// URL with credentials: passed to ffmpeg only, redacted everywhere else. */
  url: string;
  record: Pick<RecordSettings, 'ringSeconds' | 'segmentSeconds' | 'preSeconds' | 'postSeconds'>;
  /** The ring directory, e.g. <dataDir>/video/<camera>/ring (see evidencePaths). */
  dir: string;
  log: Logger;
  /** Default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  /** Default `tcp`. */
  transport?: 'tcp' | 'udp';
  /** ffmpeg socket timeout, default 5000 ms. */
  timeoutMs?: number;
  /** No new segment for this long is a stall; default 2 × segment + timeout. */
  stallMs?: number;
  /** Deadline for the first segment after ffmpeg starts (connect, probe, one segment); default stall + 5 s. */
  startupMs?: number;
  /** Default 1 s → 30 s, ±20 %. */
  backoff?: BackoffOptions;
  /** Recording this long resets the backoff; default 10 s. */
  stableMs?: number;
  /** SIGTERM → SIGKILL grace, default 2000 ms. */
  killGraceMs?: number;
  /** Delete the whole ring on stop (a ring that only served a live view). */
  ephemeral?: boolean;
}

export class SegmentRecorder implements Component {
  readonly name: string;
  readonly id: string;
  readonly settings: SegmentRecorderOptions['record'];
  private readonly o: Required<Omit<SegmentRecorderOptions, 'backoff' | 'log' | 'record'>>;
  private readonly backoff: BackoffOptions;
  private readonly log: Logger;
  private readonly ring: Ring;
  private readonly board: RecorderStatusBoard;
  private readonly segmentListeners = new Set<(s: Segment) => void>();
  private session: RecordingSession | null = null;
  private loop: Promise<void> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private wakeSleep: (() => void) | null = null;
  private loaded = false;
  private reconnects = 0;
  private lastSegmentAt: number | null = null;
  private quotaLimited = false;
  private writeError: string | null = null;
  private lastDurationMs = 0;
  private lastLoggedCode: ErrorCode | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(opts: SegmentRecorderOptions) {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const stallMs = opts.stallMs ?? 2 * opts.record.segmentSeconds * 1000 + timeoutMs;
    this.o = {
      id: opts.id,
      url: opts.url,
      dir: opts.dir,
      ffmpegPath: opts.ffmpegPath ?? 'ffmpeg',
      transport: opts.transport ?? 'tcp',
      timeoutMs,
      stallMs,
      startupMs: opts.startupMs ?? stallMs + 5000,
      stableMs: opts.stableMs ?? 10_000,
      killGraceMs: opts.killGraceMs ?? 2000,
      ephemeral: opts.ephemeral ?? false,
    };
    this.id = opts.id;
    this.name = `recorder:${opts.id}`;
    this.settings = opts.record;
    this.backoff = opts.backoff ?? {};
    this.log = opts.log.child({ camera: { id: opts.id, url: redactUrl(opts.url) } });
    this.ring = new Ring(opts.dir, this.log);
    this.board = new RecorderStatusBoard(opts.id, () => this.counters(), this.log);
    // Validated once: a bad URL fails at construction, not on every reconnect.
    buildRecorderArgs({ ...this.o, segmentSeconds: opts.record.segmentSeconds, pattern: 'x' });
  }

  status(): RecorderStatus {
    return this.board.snapshot();
  }

  onStatus(listener: RecorderStatusListener): () => void {
    return this.board.subscribe(listener);
  }

  /** Hears every closed segment; returns the unsubscribe function. */
  onSegment(listener: (s: Segment) => void): () => void {
    this.segmentListeners.add(listener);
    return () => {
      this.segmentListeners.delete(listener);
    };
  }

  /** Closed segments, oldest first. */
  segments(): readonly Segment[] {
    return this.ring.list();
  }

  findSegment(name: string): Segment | undefined {
    return this.ring.find(name);
  }

  /** Keeps the video of [fromMs, toMs] from deletion until the returned function is called. */
  pin(fromMs: number, toMs: number): () => void {
    return this.ring.pin(fromMs, toMs);
  }

  ringBytes(): number {
    return this.ring.bytes();
  }

  /** For the quota: frees up to `bytes` from the oldest unpinned segments, keeping the newest `keep`. */
  shrink(bytes: number, keep = 2): Promise<number> {
    return this.serial(() => this.ring.shrink(bytes, keep));
  }

  /** The quota tells whether it is holding this ring below its length (a degraded recorder). */
  setQuotaLimited(limited: boolean): void {
    this.quotaLimited = limited;
    if (this.session && this.lastSegmentAt !== null && this.board.current !== 'offline') this.markRecording();
  }

  /** Returns at once: a camera that is down must not hold up the gateway's start. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.loop || signal.aborted) return;
    this.stopping = false;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.board.set('offline', 'connecting');
    // Age-based deletion runs whether or not the camera is up: the ring's length is a promise about disk.
    this.pruneTimer = setInterval(() => {
      if (this.loaded)
        void this.serial(() => this.ring.pruneBefore(Date.now() - this.settings.ringSeconds * 1000));
    }, 1000);
    this.loop = this.supervise();
  }

  /** Ends ffmpeg and waits for it; afterwards no process of this recorder is left. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.wakeSleep?.();
    await this.session?.proc.end();
    await this.loop;
    this.loop = null;
    await this.chain;
    if (this.o.ephemeral) await this.ring.clear();
    this.board.set('offline', 'stopped');
  }

  private async supervise(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      const startedAt = Date.now();
      const fault = await this.runOnce().catch((err: unknown) => {
        // A bug or an fs failure between processes must not end supervision for good.
        this.log.error({ err }, 'evidence recorder session failed');
        return { code: 'RECORDER_FAILED' as const, reason: `recording failed (${errorMessage(err)})` };
      });
      if (this.stopping) break;
      if (this.lastSegmentAt !== null && this.lastSegmentAt - startedAt >= this.o.stableMs) attempt = 0;
      const delay = backoffDelay(attempt++, this.backoff);
      this.board.set('offline', fault.reason, fault.code);
      // A warning per new kind of failure; the same failure again while retrying goes to debug.
      const fields = { fault, retryInMs: delay, reconnects: this.reconnects };
      if (fault.code !== this.lastLoggedCode) this.log.warn(fields, 'evidence recorder down');
      else this.log.debug(fields, 'evidence recorder still down');
      this.lastLoggedCode = fault.code;
      await this.sleep(delay);
      this.reconnects++;
    }
  }

  /** One ffmpeg process from spawn to exit; returns why it ended. */
  private async runOnce(): Promise<{ code: ErrorCode; reason: string }> {
    try {
      await mkdir(this.o.dir, { recursive: true });
      if (!this.loaded) {
        await this.ring.load(async (p) => (await stat(p)).size);
        this.loaded = true;
      }
    } catch (err) {
      return { code: 'RECORDER_FAILED', reason: `ring directory unusable (${errorMessage(err)})` };
    }
    if (this.stopping) return { code: 'RECORDER_FAILED', reason: 'stopped' };
    const s = this.newSession();
    this.session = s;
    const tick = setInterval(() => this.watch(s), 200);
    const end = await s.ended().finally(() => clearInterval(tick));
    this.session = null;
    return s.fault ?? this.faultOf(end, s.segments);
  }

  private newSession(): RecordingSession {
    return new RecordingSession({
      url: this.o.url,
      transport: this.o.transport,
      timeoutMs: this.o.timeoutMs,
      segmentSeconds: this.settings.segmentSeconds,
      dir: this.o.dir,
      ffmpegPath: this.o.ffmpegPath,
      killGraceMs: this.o.killGraceMs,
      ring: this.ring,
      log: this.log,
      serial: (fn) => this.serial(fn),
      onSegment: (seg) => this.segmentDone(seg),
      onWriteError: (err) => {
        this.writeError = errorMessage(err);
        this.log.error({ err }, 'cannot keep ring segment');
        this.markRecording();
      },
    });
  }

  private segmentDone(seg: Segment): void {
    this.writeError = null;
    this.lastSegmentAt = Date.now();
    if (this.session && !this.session.proc.ending) this.markRecording(seg.endMs - seg.startMs);
    notifyAll(
      this.segmentListeners,
      () => seg,
      (err) => this.log.error({ err }, 'segment listener threw'),
    );
  }

  /** Runs on a timer while a process lives: finishing segments, stall verdicts, age-based deletion. */
  private watch(s: RecordingSession): void {
    s.poll();
    if (s.proc.ending || this.stopping) return;
    const since = s.lastLineAt ?? s.proc.startedAt;
    const limit = s.lastLineAt === null ? this.o.startupMs : this.o.stallMs;
    if (Date.now() - since > limit) {
      s.fault = {
        code: s.lastLineAt === null ? 'STREAM_UNREACHABLE' : 'STREAM_STALLED',
        reason: `no new segment for ${Math.round(limit / 100) / 10} s`,
      };
      this.board.set('offline', s.fault.reason, s.fault.code);
      void s.proc.end();
    }
  }

  /** online, or degraded with the reason why the ring is worse than configured. */
  private markRecording(durationMs = this.lastDurationMs): void {
    this.lastDurationMs = durationMs;
    const segMs = this.settings.segmentSeconds * 1000;
    if (this.writeError) {
      this.board.set('degraded', `cannot write the ring (${this.writeError})`, 'RECORDER_FAILED');
    } else if (this.quotaLimited) {
      // Worded without the current length: a reason that changed every segment would be a status
      // message every segment.
      const ring = this.settings.ringSeconds;
      this.board.set('degraded', `ring held below its ${ring} s by the evidence quota`, 'EVIDENCE_QUOTA');
    } else if (durationMs > 2 * segMs + 500) {
      const gop = Math.round(durationMs / 100) / 10;
      this.board.set('degraded', `key frames only every ${gop} s: clips are that coarse`);
    } else if (this.board.set('online')) {
      this.lastLoggedCode = null;
      this.log.info({ reconnects: this.reconnects }, 'evidence recorder online');
    }
  }

  private faultOf(end: ProcessEnd, segments: number): { code: ErrorCode; reason: string } {
    if (end.spawnError) {
      return {
        code: 'FFMPEG_UNAVAILABLE',
        reason: `ffmpeg cannot be started (${end.spawnError.code ?? 'error'})`,
      };
    }
    return classifyExit({ ...end, frames: segments, pendingBytes: 0 });
  }

  /** Ring changes run one at a time, so naming, deletion and the quota never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'ring update failed'),
    );
    return run;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleep = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleep = done;
    });
  }

  private counters() {
    return {
      lastSegmentAt: this.lastSegmentAt,
      segments: this.ring.list().length,
      heldMs: this.ring.heldMs(),
      reconnects: this.reconnects,
    };
  }
}
