/**
 * One supervised camera stream. ffmpeg decodes, samples to the analysis rate and scales; this class
 * keeps it running: any exit (code 0 included), a stall or garbage is a disconnect, answered by killing
 * the process and reconnecting with capped exponential backoff. Every reader owns its process, timers
 * and hand-off, so one failing camera never slows another.
 */
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { redactUrl } from '../../config/shared/log.js';
import { type BackoffOptions, backoffDelay, classifyExit, type StreamFault, secretsOf } from './faults.js';
import { buildFfmpegArgs, type FrameFit, frameBytes, type RtspTransport } from './ffmpeg-args.js';
import { FfmpegSession, type SessionEnd } from './ffmpeg-session.js';
import { type Consumer, LatestFrameHandoff } from './latest-frame.js';
import {
  type Counters,
  FpsMeter,
  type StatusListener,
  type StreamStatus,
  StreamStatusBoard,
} from './stream-status.js';

/** One decoded, sampled, scaled frame. The buffer is the consumer's to keep; the reader never reuses it. */
export interface VideoFrame {
  streamId: string;
  /** Counts every frame received from ffmpeg, so a gap in `seq` is frames dropped before the consumer. */
  seq: number;
  width: number;
  height: number;
  /** rgb24, row-major, width × height × 3 bytes. */
  data: Buffer;
  /** Epoch ms when the frame arrived from ffmpeg. */
  receivedAt: number;
}

export type FrameConsumer = Consumer<VideoFrame>;

export interface RtspReaderOptions {
  /** Camera id (status, logs). */
  id: string;
  /** rtsp:// or rtsps:// URL with credentials: passed to ffmpeg only, shown everywhere else redacted. */
  url: string;
  /** Analysis frame rate. */
  fps: number;
  /** Frame size the consumer needs; ffmpeg scales to it. */
  width: number;
  height: number;
  /** Default `pad` (keep aspect, letterbox); `stretch` scales to exactly width × height. */
  fit?: FrameFit;
  padColor?: string;
  /** Default `tcp`. */
  transport?: RtspTransport;
  /** ffmpeg socket timeout, default 5000 ms. */
  timeoutMs?: number;
  /** No frame for this long while streaming is a stall; default max(3 frame intervals, 0.75 × timeoutMs). */
  stallMs?: number;
  /** Deadline for the first frame after ffmpeg starts (connect, describe, probe); default stallMs + 10 s. */
  startupMs?: number;
  /** Default 1 s → 30 s, ±20 %. */
  backoff?: BackoffOptions;
  /** Online at least this long resets the backoff to its first step; default 10 s. */
  stableMs?: number;
  /** SIGTERM → SIGKILL grace, default 2000 ms. */
  killGraceMs?: number;
  /** Measuring window for fps and the degraded verdict, default 5000 ms. */
  fpsWindowMs?: number;
  /** Degraded when the measured fps stays below this share of `fps` for a full window; default 0.5. */
  degradedBelow?: number;
  /** stderr error lines within one fps window that count as garbage (a reconnect); default 50. */
  maxErrorLines?: number;
  /** Default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  log: Logger;
  /** The one consumer; may also be set later with setConsumer(). */
  onFrame?: FrameConsumer;
}

type Resolved = Required<Omit<RtspReaderOptions, 'onFrame' | 'backoff' | 'padColor' | 'log'>> & {
  backoff: BackoffOptions;
};

export class RtspReader implements Component {
  readonly name: string;
  private readonly o: Resolved;
  private readonly args: string[];
  private readonly secrets: string[];
  private readonly safeUrl: string;
  private readonly log: Logger;
  private readonly handoff: LatestFrameHandoff<VideoFrame>;
  private readonly meter: FpsMeter;
  private readonly board: StreamStatusBoard;
  private session: FfmpegSession | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeSleep: (() => void) | null = null;
  private seq = 0;
  private reconnects = 0;
  private lastFrameAt: number | null = null;
  private onlineAt: number | null = null;
  private lastLoggedCode: string | null = null;

  constructor(opts: RtspReaderOptions) {
    const timeoutMs = opts.timeoutMs ?? 5000;
    // Below the socket timeout on purpose: when ffmpeg's read times out it flushes one last frame,
    // which would restart a stall clock of the same length and double the time to notice.
    const stallMs = opts.stallMs ?? Math.max(3000 / opts.fps, timeoutMs * 0.75);
    this.o = {
      id: opts.id,
      url: opts.url,
      fps: opts.fps,
      width: opts.width,
      height: opts.height,
      fit: opts.fit ?? 'pad',
      transport: opts.transport ?? 'tcp',
      timeoutMs,
      stallMs,
      startupMs: opts.startupMs ?? stallMs + 10_000,
      backoff: opts.backoff ?? {},
      stableMs: opts.stableMs ?? 10_000,
      killGraceMs: opts.killGraceMs ?? 2000,
      fpsWindowMs: opts.fpsWindowMs ?? 5000,
      degradedBelow: opts.degradedBelow ?? 0.5,
      maxErrorLines: opts.maxErrorLines ?? 50,
      ffmpegPath: opts.ffmpegPath ?? 'ffmpeg',
    };
    // Built (and validated) once: a bad option fails at construction, not on every reconnect.
    this.args = buildFfmpegArgs({ ...this.o, padColor: opts.padColor });
    this.name = `rtsp:${opts.id}`;
    this.secrets = secretsOf(opts.url);
    this.safeUrl = redactUrl(opts.url);
    this.log = opts.log.child({ camera: { id: opts.id, url: this.safeUrl } });
    this.handoff = new LatestFrameHandoff<VideoFrame>(opts.onFrame ?? null, (err) =>
      this.log.error({ err }, 'frame consumer failed'),
    );
    this.meter = new FpsMeter(this.o.fpsWindowMs);
    this.board = new StreamStatusBoard(opts.id, opts.fps, () => this.counters(), this.log);
  }

  /** The stream URL with credentials redacted, for display. */
  get displayUrl(): string {
    return this.safeUrl;
  }

  /** ffmpeg's argument list with credentials redacted (for diagnostics). */
  get displayArgs(): string[] {
    return this.args.map((a) => redactUrl(a));
  }

  status(): StreamStatus {
    return this.board.snapshot();
  }

  /** Hears every state/reason change; returns the unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    return this.board.subscribe(listener);
  }

  setConsumer(consumer: FrameConsumer | null): void {
    this.handoff.setConsumer(consumer);
  }

  /** Returns at once: a camera that is down must not hold up the gateway's start. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.loop || signal.aborted) return;
    this.stopping = false;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.board.offline('connecting');
    this.loop = this.supervise();
  }

  /** Ends ffmpeg and waits for it to exit; afterwards no process of this reader is left. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.session?.end(null);
    await this.loop;
    this.loop = null;
    this.handoff.clear();
    this.onlineAt = null;
    this.board.offline('stopped');
  }

  private async supervise(): Promise<void> {
    let attempt = 0;
    let first = true;
    while (!this.stopping) {
      if (!first) this.reconnects++;
      first = false;
      const end = await this.runSession();
      if (this.stopping) break;
      const onlineFor = this.onlineAt === null ? 0 : Date.now() - this.onlineAt;
      this.onlineAt = null;
      if (onlineFor >= this.o.stableMs) attempt = 0;
      const fault = this.faultOf(end);
      const delay = backoffDelay(attempt++, this.o.backoff);
      this.board.offline(fault.reason, fault.code);
      this.logFault(fault, end, delay);
      await this.sleep(delay);
    }
  }

  private runSession(): Promise<SessionEnd> {
    this.meter.reset(Date.now());
    const session = new FfmpegSession({
      ffmpegPath: this.o.ffmpegPath,
      args: this.args,
      frameBytes: frameBytes(this.o.width, this.o.height),
      secrets: this.secrets,
      killGraceMs: this.o.killGraceMs,
      onFrame: (data) => this.onFrame(session, data),
    });
    this.session = session;
    const tickMs = Math.max(50, Math.min(500, this.o.stallMs / 4));
    const timer = setInterval(() => this.watch(session), tickMs);
    return session.ended.finally(() => {
      clearInterval(timer);
      this.session = null;
    });
  }

  private onFrame(session: FfmpegSession, data: Buffer): void {
    if (session.ending) return;
    const now = Date.now();
    this.lastFrameAt = now;
    this.meter.add(now);
    if (this.onlineAt === null) {
      this.onlineAt = now;
      this.lastLoggedCode = null;
      this.board.online();
      this.log.info({ stream: { reconnects: this.reconnects } }, 'camera stream online');
    }
    const { width, height } = this.o;
    this.handoff.offer({ streamId: this.o.id, seq: ++this.seq, width, height, data, receivedAt: now });
  }

  /** Runs on a timer while a process lives: stall, garbage and frame-rate verdicts. */
  private watch(session: FfmpegSession): void {
    if (session.ending || this.stopping) return;
    const now = Date.now();
    const o = this.o;
    if (this.onlineAt === null) {
      if (now - session.startedAt > o.startupMs) {
        this.disconnect(session, {
          code: 'STREAM_UNREACHABLE',
          reason: `no frame within ${secs(o.startupMs)} of connecting`,
        });
      }
      return;
    }
    if (now - (this.lastFrameAt ?? now) > o.stallMs) {
      this.disconnect(session, { code: 'STREAM_STALLED', reason: `no frame for ${secs(o.stallMs)}` });
      return;
    }
    if (session.socketTimedOut) {
      this.disconnect(session, { code: 'STREAM_STALLED', reason: 'camera stopped sending (socket timeout)' });
      return;
    }
    if (session.errorLinesSince(now - o.fpsWindowMs) > o.maxErrorLines) {
      this.disconnect(session, {
        code: 'STREAM_CORRUPT',
        reason: 'ffmpeg reports a burst of decoding errors',
      });
      return;
    }
    // A young measurement would call every fresh connection slow.
    if (now - this.onlineAt < o.fpsWindowMs) return;
    const fps = this.meter.fps(now);
    const degraded = this.board.current === 'degraded';
    // Hysteresis: recover only clearly above the threshold, so a borderline camera does not flap.
    const limit = o.fps * o.degradedBelow * (degraded ? 1.2 : 1);
    if (fps < limit && !degraded) {
      this.board.degraded({
        code: 'STREAM_SLOW',
        reason: `frame rate below ${Math.round(o.degradedBelow * 100)} % of the configured ${o.fps} fps`,
      });
      this.log.warn({ stream: { fps: round(fps), targetFps: o.fps } }, 'camera stream is slow');
    } else if (fps >= limit && degraded) {
      this.board.online();
      this.log.info({ stream: { fps: round(fps) } }, 'camera stream frame rate recovered');
    }
  }

  /**
   * The verdict is the status at once: a hung ffmpeg may take up to the kill grace to go, and the
   * camera is no less offline meanwhile. Frames still draining from the dying process are ignored.
   */
  private disconnect(session: FfmpegSession, fault: StreamFault): void {
    this.board.offline(fault.reason, fault.code);
    void session.end(fault);
  }

  private faultOf(end: SessionEnd): StreamFault {
    if (end.fault) return end.fault;
    if (end.spawnError) {
      return {
        code: 'FFMPEG_UNAVAILABLE',
        reason: `ffmpeg cannot be started (${end.spawnError.code ?? 'error'})`,
      };
    }
    return classifyExit(end);
  }

  /** A warning per new kind of failure; repeats of the same failure while retrying go to debug. */
  private logFault(fault: StreamFault, end: SessionEnd, retryInMs: number): void {
    const fields = {
      fault,
      ffmpeg: { exitCode: end.exitCode, signal: end.signal, frames: end.frames, stderr: end.stderr },
      retryInMs,
      reconnects: this.reconnects,
    };
    if (fault.code !== this.lastLoggedCode) this.log.warn(fields, 'camera stream down');
    else this.log.debug(fields, 'camera stream still down');
    this.lastLoggedCode = fault.code;
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

  private counters(): Counters {
    return {
      fps: this.onlineAt === null ? 0 : this.meter.fps(Date.now()),
      frames: this.seq,
      dropped: this.handoff.dropped,
      reconnects: this.reconnects,
      lastFrameAt: this.lastFrameAt,
    };
  }
}

function secs(ms: number): string {
  return `${round(ms / 1000)} s`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
