/**
 * The health of one stream as the API, `/metrics` and MQTT show it: state with a reason and catalogue
 * code, the frame rate actually measured, drops, reconnects. Listeners hear state/reason changes only
 * (not every frame), and a listener that throws is logged and does not stop the others.
 */
import type { DeviceStatus } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { StatusBoard } from '../../config/shared/status-board.js';
import type { StreamErrorCode, StreamFault } from './faults.js';

export interface StreamStatus extends DeviceStatus {
  kind: 'camera';
  /** Catalogue code behind `reason` (null when online, starting or stopped). */
  code: StreamErrorCode | null;
  /** Frames per second received from ffmpeg over the measuring window. */
  fps: number;
  /** The configured analysis rate. */
  targetFps: number;
  /** Frames received from ffmpeg since the reader was created. */
  frames: number;
  /** Frames replaced unseen because the consumer was still busy (newest wins). */
  dropped: number;
  /** ffmpeg processes started after the first one. */
  reconnects: number;
  // `lastSeenAt` (from DeviceStatus) is the time of the last frame.
}

export type StatusListener = (status: StreamStatus) => void;

/** Frames per second over a sliding window of arrival times. */
export class FpsMeter {
  private readonly times: number[] = [];
  private head = 0;
  private since = 0;

  constructor(readonly windowMs: number) {}

  /** Starts measuring afresh (a new ffmpeg process). */
  reset(now: number): void {
    this.times.length = 0;
    this.head = 0;
    this.since = now;
  }

  add(now: number): void {
    this.times.push(now);
    this.prune(now);
  }

  /** Milliseconds measured so far, up to the window: a young meter is not yet a verdict. */
  covered(now: number): number {
    return Math.min(this.windowMs, Math.max(0, now - this.since));
  }

  fps(now: number): number {
    this.prune(now);
    const span = this.covered(now);
    if (span < 1) return 0;
    return ((this.times.length - this.head) * 1000) / span;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= cutoff) this.head++;
    // Compact now and then so the array does not grow for the life of the stream.
    if (this.head > 256 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
  }
}

export interface Counters {
  fps: number;
  frames: number;
  dropped: number;
  reconnects: number;
  lastFrameAt: number | null;
}

export class StreamStatusBoard extends StatusBoard<StreamErrorCode, StreamStatus> {
  constructor(
    readonly id: string,
    readonly targetFps: number,
    private readonly counters: () => Counters,
    log: Logger,
    initialReason = 'not started',
  ) {
    super(log, 'stream', initialReason);
  }

  snapshot(): StreamStatus {
    const c = this.counters();
    return {
      id: this.id,
      kind: 'camera',
      state: this.state,
      reason: this.reason,
      code: this.code,
      since: this.since,
      lastSeenAt: c.lastFrameAt === null ? null : new Date(c.lastFrameAt).toISOString(),
      fps: Math.round(c.fps * 100) / 100,
      targetFps: this.targetFps,
      frames: c.frames,
      dropped: c.dropped,
      reconnects: c.reconnects,
    };
  }

  online(): boolean {
    return this.set('online', null, null);
  }

  degraded(fault: StreamFault): boolean {
    return this.set('degraded', fault.reason, fault.code);
  }

  /** A fault (or a plain note such as "connecting" / "stopped" with no code). */
  offline(reason: string, code: StreamErrorCode | null = null): boolean {
    return this.set('offline', reason, code);
  }
}
