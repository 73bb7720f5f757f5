/**
 * Remote live view over HLS, straight from ring segments (no second encoder, no second connection to
 * the camera when it already records). Cameras without a ring get a recorder on demand, which stops
 * once nobody has asked for the playlist for a while; a player re-fetches it every segment or so, so
 * silence means the last viewer is gone.
 */
import { PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { RecorderStatus } from './recorder-status.js';
import type { Segment } from './ring.js';

/** What the live view needs of a recorder (SegmentRecorder is one). */
export interface LiveSource {
  segments(): readonly Segment[];
  findSegment(name: string): Segment | undefined;
  onSegment(listener: (s: Segment) => void): () => void;
  status(): RecorderStatus;
}

export type LiveRecorder = LiveSource & Component;

export function segmentUrl(cameraId: string, s: Segment): string {
  return `/api/v1/cameras/${cameraId}/hls/${s.name}`;
}

/**
 * A live media playlist of the newest `count` segments. The media sequence is the segments' ring
 * sequence number, and a new ffmpeg process (a reconnect: timestamps restart) is a discontinuity,
 * numbered by the process's ordinal so that the count stays right as segments slide out.
 */
export function livePlaylist(cameraId: string, segments: readonly Segment[], count = 4): string | null {
  const tail = segments.slice(-Math.max(1, count));
  const first = tail[0];
  if (!first) return null;
  const target = Math.max(1, ...tail.map((s) => Math.ceil((s.endMs - s.startMs) / 1000)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${first.seq}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.max(0, first.session - 1)}`,
  ];
  let prev: Segment | null = null;
  for (const s of tail) {
    if (prev && prev.session !== s.session) lines.push('#EXT-X-DISCONTINUITY');
    // The wall-clock time of each segment, so a player can show when what it plays happened.
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`);
    lines.push(`#EXTINF:${((s.endMs - s.startMs) / 1000).toFixed(3)},`);
    lines.push(segmentUrl(cameraId, s));
    prev = s;
  }
  return `${lines.join('\n')}\n`;
}

/** Resolves true once the source holds a segment, false after `timeoutMs`. */
export function firstSegment(src: LiveSource, timeoutMs: number): Promise<boolean> {
  if (src.segments().length > 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (v: boolean): void => {
      clearTimeout(timer);
      unsubscribe();
      resolve(v);
    };
    const unsubscribe = src.onSegment(() => done(true));
    const timer = setTimeout(() => done(false), timeoutMs);
  });
}

export interface LiveSessionsOptions {
  /** A new (not started) recorder for a camera with no ring, e.g. an ephemeral SegmentRecorder; undefined if unknown. */
  create(cameraId: string): LiveRecorder | undefined;
  log: Logger;
  /** Stop after this long without a playlist request; default 30 s. */
  idleMs?: number;
  /** At most this many on-demand recorders at once; default 4 (each costs a camera connection). */
  maxSessions?: number;
  /** How often idleness is checked; default 1 s. */
  checkMs?: number;
}

interface LiveSession {
  rec: LiveRecorder;
  lastSeen: number;
  /** Requests waiting for its first segment: it is being watched even though none has arrived. */
  waiting: number;
}

export class LiveSessions implements Component {
  readonly name = 'live-sessions';
  private readonly sessions = new Map<string, LiveSession>();
  private readonly starting = new Map<string, Promise<LiveRecorder>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: LiveSessionsOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    if (this.timer || signal.aborted) return;
    this.closed = false;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.timer = setInterval(() => this.reap(), this.o.checkMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.starting.values()]);
    await Promise.allSettled([...this.sessions.keys()].map((id) => this.end(id, 'gateway stopping')));
  }

  /**
   * The camera's on-demand recorder, started if need be; counts as a viewer's request. With
   * `waitMs`, also waits (up to that long) for its first segment, and the session is not reaped while
   * a request waits on it.
   */
  async ensureRunning(cameraId: string, waitMs = 0): Promise<LiveRecorder> {
    const rec = await this.open(cameraId);
    const s = this.sessions.get(cameraId);
    if (waitMs > 0 && s) {
      s.waiting++;
      try {
        await firstSegment(rec, waitMs);
      } finally {
        s.waiting--;
        s.lastSeen = Date.now();
      }
    }
    return rec;
  }

  private open(cameraId: string): Promise<LiveRecorder> {
    const s = this.sessions.get(cameraId);
    if (s) {
      s.lastSeen = Date.now();
      return Promise.resolve(s.rec);
    }
    const pending = this.starting.get(cameraId);
    if (pending) return pending;
    // A request racing the shutdown must not leave a recorder nobody will stop.
    if (this.closed) return Promise.reject(new PgError('CAMERA_NO_FRAME', 'the gateway is stopping'));
    if (this.sessions.size + this.starting.size >= (this.o.maxSessions ?? 4)) {
      return Promise.reject(new PgError('LIVE_VIEW_LIMIT', `${this.sessions.size} live views open`));
    }
    const rec = this.o.create(cameraId);
    if (!rec) return Promise.reject(new PgError('CAMERA_UNKNOWN', `camera "${cameraId}" cannot be viewed`));
    // Its own signal, never aborted: this class decides when an on-demand recorder stops.
    const started = rec
      .start(new AbortController().signal)
      .then(() => {
        this.sessions.set(cameraId, { rec, lastSeen: Date.now(), waiting: 0 });
        this.o.log.info({ camera: { id: cameraId } }, 'live view started');
        return rec;
      })
      .finally(() => this.starting.delete(cameraId));
    this.starting.set(cameraId, started);
    return started;
  }

  /** The running on-demand recorder of a camera, if any (segment requests; does not count as viewing). */
  get(cameraId: string): LiveRecorder | undefined {
    return this.sessions.get(cameraId)?.rec;
  }

  active(): string[] {
    return [...this.sessions.keys()];
  }

  private reap(): void {
    const idleMs = this.o.idleMs ?? 30_000;
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      if (s.waiting === 0 && now - s.lastSeen > idleMs) void this.end(id, 'nobody watching');
    }
  }

  private async end(cameraId: string, why: string): Promise<void> {
    const s = this.sessions.get(cameraId);
    if (!s) return;
    this.sessions.delete(cameraId);
    try {
      await s.rec.stop();
      this.o.log.info({ camera: { id: cameraId }, why }, 'live view stopped');
    } catch (err) {
      this.o.log.error({ err, camera: { id: cameraId } }, 'live view did not stop cleanly');
    }
  }
}
