/**
 * Remote live view as MJPEG over HTTP, started on demand. One ffmpeg per camera turns the RTSP stream
 * into JPEGs; every viewer of that camera shares it. The first viewer starts it, and it stops a few
 * seconds after the last viewer leaves (a page reload does not restart the camera connection). A global
 * cap bounds how many cameras are live at once, since each one costs a decoder and an encoder. ffmpeg's
 * multipart output is cut into JPEGs here and each viewer gets its own multipart stream, so a viewer
 * joining late starts on a part boundary, and a slow viewer skips frames instead of the gateway
 * buffering for it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { ChildGroup } from '../../adapters/rtsp/child-group.js';
import { classifyExit, scrub, secretsOf } from '../../adapters/rtsp/faults.js';
import type { RtspTransport } from '../../adapters/rtsp/ffmpeg-args.js';
import { type ErrorCode, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';

export const MJPEG_BOUNDARY = 'parcelguard-live';
export const MJPEG_CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`;

export interface LiveCamera {
  id: string;
  /** rtsp:// URL with credentials: reaches ffmpeg's argv only. */
  url: string;
  transport?: RtspTransport;
  /** ffmpeg socket timeout; default the LiveView's. */
  timeoutMs?: number;
}

/** What LiveViewOptions leave out. */
export const LIVE_VIEW_DEFAULTS = {
  /** Frame rate sent to viewers. */
  fps: 5,
  /** Pictures wider than this are scaled down (aspect kept). */
  maxWidth: 960,
  /** ffmpeg MJPEG quantiser, 2 (best) to 31. */
  quality: 5,
  /** A camera's ffmpeg keeps running this long after its last viewer left (a reload reuses it). */
  idleMs: 5000,
  /** ffmpeg socket timeout, for cameras that give none. */
  timeoutMs: 5000,
  /** The first picture must arrive within this. */
  startupMs: 15_000,
  /** No picture for this long ends the live view. */
  stallMs: 10_000,
  /** SIGTERM → SIGKILL grace. */
  killGraceMs: 2000,
  /** A viewer with more than this unsent skips frames. */
  viewerBufferBytes: 1024 * 1024,
  ffmpegPath: 'ffmpeg',
};

export interface LiveViewOptions extends Partial<typeof LIVE_VIEW_DEFAULTS> {
  /** Cameras live at once (all viewers of one camera count once); 0 turns live view off. */
  maxCameras: number;
  log: Logger;
}

type Resolved = Required<Omit<LiveViewOptions, 'log'>>;

/** A gateway that dies still takes its live-view ffmpegs with it. */
const liveViews = new ChildGroup();

export function liveViewArgs(camera: LiveCamera, o: Resolved): string[] {
  if (!/^rtsps?:\/\//i.test(camera.url)) {
    throw new PgError('CONFIG_INVALID', `camera "${camera.id}": live view needs an rtsp:// URL`);
  }
  const quality = Math.min(31, Math.max(2, Math.round(o.quality)));
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'],
    ...['-rtsp_transport', camera.transport ?? 'tcp'],
    // Microseconds; without it ffmpeg waits forever on a camera that went quiet.
    ...['-timeout', String(Math.round((camera.timeoutMs ?? o.timeoutMs) * 1000))],
    // No frame-rate probe (the fps filter resamples anyway): it held the first picture back 2 s or more.
    ...['-fpsprobesize', '0', '-allowed_media_types', 'video', '-i', camera.url, '-an', '-sn', '-dn'],
    // Only ever scale down; -2 keeps the height even, which the JPEG encoder's 4:2:0 needs.
    ...['-vf', `fps=${o.fps},scale=w='min(${Math.round(o.maxWidth)},iw)':h=-2`],
    ...['-f', 'mpjpeg', '-q:v', String(quality), 'pipe:1'],
  ];
}

/** Cuts ffmpeg's `mpjpeg` output (boundary, headers with Content-length, JPEG) into JPEGs. */
export class MultipartJpegParser {
  private buf: Buffer = Buffer.alloc(0);
  private need: number | null = null;

  constructor(
    private readonly onJpeg: (jpeg: Buffer) => void,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** Throws on output that is not multipart JPEG (the caller ends the process). */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.need === null) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > 4096) throw new Error('multipart header too long');
          return;
        }
        const header = this.buf.subarray(0, end).toString('latin1');
        const m = /content-length:\s*(\d+)/i.exec(header);
        if (!m?.[1]) throw new Error('multipart part without Content-Length');
        const n = Number(m[1]);
        if (n > this.maxBytes) throw new Error(`multipart part of ${n} bytes is too large`);
        this.need = n;
        this.buf = this.buf.subarray(end + 4);
      }
      if (this.buf.length < this.need) return;
      // A copy, so one small JPEG never pins the large chunk it arrived in.
      const jpeg = Buffer.from(this.buf.subarray(0, this.need));
      this.buf = this.buf.subarray(this.need);
      this.need = null;
      this.onJpeg(jpeg);
    }
  }
}

/** One part of our own multipart response. */
export function mjpegPart(jpeg: Buffer): Buffer {
  const head = `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), jpeg, Buffer.from('\r\n')]);
}

/** One camera's ffmpeg and its viewers. */
class LiveFeed {
  readonly viewers = new Set<Readable>();
  /** Parts not sent to a viewer whose connection was too slow. */
  skipped = 0;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;
  frames = 0;
  private child: ChildProcess | null = null;
  private lastPart: Buffer | null = null;
  private lastFrameAt = 0;
  private closing = false;
  private spawned = false;
  private settle!: (err?: Error) => void;
  private resolveClosed!: () => void;
  private idleTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private stderr: string[] = [];

  constructor(
    readonly camera: LiveCamera,
    private readonly args: string[],
    private readonly o: Resolved,
    private readonly log: Logger,
    private readonly onGone: (feed: LiveFeed) => void,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
    // Nobody may be waiting when the start fails; the failure is logged below.
    this.ready.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Spawns ffmpeg once `after` (a feed evicted to make room) has ended. */
  async run(after: Promise<void> | null): Promise<void> {
    await after;
    if (this.closing) return this.resolveClosed();
    const secrets = secretsOf(this.camera.url);
    const parser = new MultipartJpegParser((jpeg) => this.onJpeg(jpeg));
    const child = spawn(this.o.ffmpegPath, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.spawned = true;
    liveViews.track(child);
    const startedAt = Date.now();
    child.stdout?.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (err) {
        void this.close(`ffmpeg output is not multipart JPEG: ${(err as Error).message}`);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      for (const line of text.split(/\r?\n/)) if (line.trim()) this.stderr.push(scrub(line, secrets));
      this.stderr = this.stderr.slice(-6);
    });
    const note = (err: Error) => this.stderr.push(scrub(err.message, secrets));
    // A pipe error means the process is going; its 'close' below does the cleanup.
    for (const pipe of [child.stdout, child.stderr]) pipe?.on('error', note);
    child.once('error', (err) => {
      note(err);
      void this.close(`ffmpeg cannot be started (${err.message})`, 'FFMPEG_UNAVAILABLE');
      // Without a pid nothing runs and no 'close' may follow.
      if (child.pid === undefined) this.exited(child);
    });
    child.once('close', (exitCode, signal) => {
      if (!this.closing) {
        // The reader's classifier words it (refused, 401, no such path…) with a catalogue code for the API.
        const facts = { exitCode, signal, stderr: this.stderr, frames: this.frames, pendingBytes: 0 };
        const f = classifyExit(facts);
        void this.close(f.reason, f.code);
      }
      this.exited(child);
    });
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (this.frames === 0 && now - startedAt > this.o.startupMs) {
        void this.close(`no picture within ${this.o.startupMs} ms`);
      } else if (this.frames > 0 && now - this.lastFrameAt > this.o.stallMs) {
        void this.close(`no picture for ${this.o.stallMs} ms`);
      }
    }, 250);
  }

  /** A new viewer's response body; destroying it (fastify does when the client goes) detaches it. */
  attach(): Readable {
    const v = new Readable({
      highWaterMark: this.o.viewerBufferBytes,
      read() {
        // Parts are pushed as ffmpeg makes them; there is nothing to fetch on demand.
      },
    });
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.viewers.add(v);
    v.once('close', () => this.detach(v));
    if (this.lastPart) this.offer(v, this.lastPart);
    return v;
  }

  /** Ends a viewer's response cleanly (its last picture stays on screen). */
  end(v: Readable): void {
    this.detach(v);
    if (!v.destroyed) v.push(null);
  }

  private detach(v: Readable): void {
    if (!this.viewers.delete(v) || this.viewers.size > 0 || this.closing) return;
    this.idleTimer = setTimeout(() => void this.close(null), this.o.idleMs);
  }

  private offer(v: Readable, part: Buffer): void {
    if (v.readableLength >= this.o.viewerBufferBytes) this.skipped++;
    else v.push(part);
  }

  /** Ends ffmpeg and every viewer; `reason` null is a normal stop (idle, shutdown); `code` goes to waiters. */
  close(reason: string | null, code: ErrorCode = 'CAMERA_NO_FRAME'): Promise<void> {
    if (this.closing) return this.closed;
    this.closing = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.onGone(this);
    const why = reason ?? 'live view stopped';
    this.settle(new PgError(code, `camera "${this.camera.id}": ${why}`));
    for (const v of [...this.viewers]) this.end(v);
    if (reason) {
      this.log.warn({ live: { reason, frames: this.frames, stderr: this.stderr } }, 'live view ended');
    } else {
      this.log.info({ live: { frames: this.frames, skipped: this.skipped } }, 'live view stopped');
    }
    const child = this.child;
    if (!child) {
      // Not spawned yet (run() is waiting for an evicted feed): nothing will ever run.
      if (!this.spawned) this.resolveClosed();
      return this.closed;
    }
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), this.o.killGraceMs);
    child.once('close', () => clearTimeout(kill));
    return this.closed;
  }

  private exited(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.watchdog) clearInterval(this.watchdog);
    this.resolveClosed();
  }

  private onJpeg(jpeg: Buffer): void {
    if (this.closing) return;
    this.frames++;
    this.lastFrameAt = Date.now();
    const part = mjpegPart(jpeg);
    this.lastPart = part;
    for (const v of this.viewers) this.offer(v, part);
    if (this.frames === 1) {
      this.log.info({ live: { pid: this.pid } }, 'live view started');
      this.settle();
    }
  }
}

export class LiveView implements Component {
  readonly name = 'live-view';
  private readonly o: Resolved;
  private readonly log: Logger;
  private readonly feeds = new Map<string, LiveFeed>();
  private stopped = false;

  constructor(opts: LiveViewOptions) {
    const given = Object.entries(opts).filter(([k, v]) => v !== undefined && k !== 'log');
    this.o = {
      ...LIVE_VIEW_DEFAULTS,
      ...(Object.fromEntries(given) as Partial<Resolved>),
      maxCameras: opts.maxCameras,
    };
    if (!Number.isInteger(this.o.maxCameras) || this.o.maxCameras < 0)
      throw new PgError('CONFIG_INVALID', `live view maxCameras must be whole, got ${opts.maxCameras}`);
    if (!(this.o.fps > 0 && this.o.fps <= 30))
      throw new PgError('CONFIG_INVALID', `live view fps must be above 0 and at most 30, got ${this.o.fps}`);
    this.log = opts.log.child({ component: 'live-view' });
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopped = false;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Ends every viewer and every ffmpeg, and waits until the processes have exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.feeds.values()].map((f) => f.close(null)));
  }

  /** Ends every viewer's response (the HTTP server waits for open responses when it closes). */
  endViewers(): void {
    for (const feed of this.feeds.values()) for (const v of [...feed.viewers]) feed.end(v);
  }

  /** Cameras live now. */
  feedsInfo(): Array<{ id: string; viewers: number; pid: number | null; frames: number }> {
    return [...this.feeds.values()].map((f) => ({
      id: f.camera.id,
      viewers: f.viewers.size,
      pid: f.pid,
      frames: f.frames,
    }));
  }

  /**
   * A new viewer of the camera, once its picture flows. Throws LIVE_VIEW_LIMIT when starting this camera
   * would exceed the cap, and CAMERA_NO_FRAME when the camera gives no picture or `signal` aborts first.
   */
  async open(camera: LiveCamera, signal?: AbortSignal): Promise<Readable> {
    if (this.stopped) throw new PgError('CAMERA_NO_FRAME', 'live view is shutting down');
    const feed = this.feeds.get(camera.id) ?? this.startFeed(camera);
    const viewer = feed.attach();
    const onAbort = () => viewer.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([feed.ready, viewer.destroyed ? null : once(viewer, 'close')]);
    } catch (err) {
      viewer.destroy();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (viewer.destroyed) throw new PgError('CAMERA_NO_FRAME', 'viewer left before the first picture');
    return viewer;
  }

  private startFeed(camera: LiveCamera): LiveFeed {
    // Built first: a camera that cannot be viewed fails here, before it takes a place.
    const args = liveViewArgs(camera, this.o);
    let after: Promise<void> | null = null;
    if (this.feeds.size >= this.o.maxCameras) {
      // A camera lingering without viewers gives its place up at once.
      const idle = [...this.feeds.values()].find((f) => f.viewers.size === 0);
      if (!idle) throw new PgError('LIVE_VIEW_LIMIT', `${this.o.maxCameras} cameras are live already`);
      after = idle.close(null);
    }
    const log = this.log.child({ camera: { id: camera.id } });
    const feed = new LiveFeed(camera, args, this.o, log, (f) => {
      if (this.feeds.get(f.camera.id) === f) this.feeds.delete(f.camera.id);
    });
    this.feeds.set(camera.id, feed);
    void feed.run(after);
    return feed;
  }
}
