/**
 * When each ring segment was recorded, in wall-clock time.
 *
 * ffmpeg's segment muxer prints one CSV line per closed segment (`-segment_list pipe:1
 * -segment_list_type csv`): `name,start,end`, in seconds of *stream* time (RTP timestamps, which ffmpeg
 * starts near 0). A segment is closed by the arrival of the key frame that opens the next one, whose
 * stream time is exactly the closed segment's `end`, and the line is flushed at once; so the wall time a
 * line reaches us, minus `end`, is the stream's offset to the wall clock plus a delay that is never
 * negative (network, muxing, our event loop). The least such value over recent lines is therefore the
 * best estimate of the offset, and one late line (a busy moment, the burst after ffmpeg's start-up
 * probe, which measured ~700 ms late on the test stream) cannot drag it. The window slides, so a camera
 * clock that drifts against ours is followed; a stream clock that jumps backwards (offsets suddenly far
 * above the minimum) starts the estimate afresh.
 *
 * Lines that close a segment without a following key frame (the last one when ffmpeg stops) end at the
 * last packet's end instead, so they are not used as observations.
 *
 * What "wall time" means here: when the frame arrived at the gateway, not when the camera captured it;
 * the difference is the camera's encoder latency (typically 0.1–0.5 s), well inside one segment.
 */

export interface ListEntry {
  /** File name as ffmpeg wrote it (base name). */
  file: string;
  /** Stream seconds. */
  start: number;
  end: number;
}

/** Parses one line of ffmpeg's CSV segment list; null for anything else. */
export function parseListLine(line: string): ListEntry | null {
  const m = /^(.+),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(line.trim());
  if (!m?.[1] || m[2] === undefined || m[3] === undefined) return null;
  let file = m[1];
  // ffmpeg quotes names holding commas or quotes; ours never do, but read them right anyway.
  if (file.startsWith('"') && file.endsWith('"')) file = file.slice(1, -1).replace(/""/g, '"');
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return null;
  return { file, start, end };
}

export interface StreamClockOptions {
  /** Observations kept; default 30 (a minute of 2-second segments). */
  window?: number;
  /** An observation this far above the minimum means the stream clock jumped back; default 5000 ms. */
  jumpMs?: number;
}

/** Maps one ffmpeg process's stream time to epoch milliseconds. */
export class StreamClock {
  private readonly offsets: number[] = [];
  private provisional: number | null = null;
  private readonly window: number;
  private readonly jumpMs: number;

  constructor(o: StreamClockOptions = {}) {
    this.window = Math.max(1, o.window ?? 30);
    this.jumpMs = o.jumpMs ?? 5000;
  }

  /** Confirmed observations so far (lines closed by a key frame). */
  get samples(): number {
    return this.offsets.length;
  }

  /** A line closed by a key frame at stream time `endS` arrived at `atMs`. */
  observe(endS: number, atMs: number): void {
    const offset = atMs - endS * 1000;
    const min = this.minimum();
    if (min !== null && offset - min > this.jumpMs) this.offsets.length = 0;
    this.offsets.push(offset);
    if (this.offsets.length > this.window) this.offsets.shift();
  }

  /** A line whose end is not a key frame's arrival: used only while nothing better is known. */
  observeLoosely(endS: number, atMs: number): void {
    const offset = atMs - endS * 1000;
    this.provisional = this.provisional === null ? offset : Math.min(this.provisional, offset);
  }

  /** Current offset estimate (epoch ms at stream time 0), or null before any line. */
  offset(): number | null {
    return this.minimum() ?? this.provisional;
  }

  toWall(streamS: number): number | null {
    const o = this.offset();
    return o === null ? null : Math.round(o + streamS * 1000);
  }

  private minimum(): number | null {
    return this.offsets.length === 0 ? null : Math.min(...this.offsets);
  }
}
