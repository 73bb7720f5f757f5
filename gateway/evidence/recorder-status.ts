/**
 * The health of one evidence recorder as the API and MQTT show it. Listeners hear changes of state,
 * reason or code only (not every segment), and one that throws is logged without stopping the others.
 */
import type { ErrorCode } from '../../config/shared/errors.js';
import type { DeviceState } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { StatusBoard } from '../../config/shared/status-board.js';

export interface RecorderStatus {
  /** Camera id. */
  id: string;
  state: DeviceState;
  /** Our words, never raw ffmpeg output; null when all is well. */
  reason: string | null;
  code: ErrorCode | null;
  /** ISO time of the last state change. */
  since: string;
  /** ISO time the newest segment closed. */
  lastSegmentAt: string | null;
  /** Segments in the ring, and the seconds of video they hold. */
  segments: number;
  heldSeconds: number;
  /** ffmpeg processes started after the first. */
  reconnects: number;
}

export type RecorderStatusListener = (status: RecorderStatus) => void;

export interface RecorderCounters {
  lastSegmentAt: number | null;
  segments: number;
  heldMs: number;
  reconnects: number;
}

export class RecorderStatusBoard extends StatusBoard<ErrorCode, RecorderStatus> {
  constructor(
    private readonly id: string,
    private readonly counters: () => RecorderCounters,
    log: Logger,
  ) {
    super(log, 'recorder');
  }

  snapshot(): RecorderStatus {
    const c = this.counters();
    return {
      id: this.id,
      state: this.state,
      reason: this.reason,
      code: this.code,
      since: this.since,
      lastSegmentAt: c.lastSegmentAt === null ? null : new Date(c.lastSegmentAt).toISOString(),
      segments: c.segments,
      heldSeconds: Math.round(c.heldMs / 100) / 10,
      reconnects: c.reconnects,
    };
  }
}
