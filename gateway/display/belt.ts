/**
 * Geometry of a scrolling X-ray display, in one canonical frame so the tracker never branches on the
 * direction: `u` runs along the belt and grows towards the exit edge (0 = entry edge, `length` = exit
 * edge), `w` runs across it. A box touching the entry edge has its trailing end cut (the rest of the
 * object has not scrolled in yet); one touching the exit edge has its leading end cut.
 */
import type { Box } from '../../config/shared/types.js';

export type BeltDirection = 'left' | 'right' | 'up' | 'down';

/** A box in belt coordinates: u1 < u2 along the motion, w1 < w2 across it. */
export interface Span {
  u1: number;
  u2: number;
  w1: number;
  w2: number;
}

export class Belt {
  /** Extent of the picture along the motion, px. */
  readonly length: number;
  private readonly across: number;

  /**
   * `width`/`height`: the picture the boxes are measured in (the ROI crop). `edgePx`: how close to an
   * edge a box may come before it counts as cut by it; detectors rarely put the box exactly on it.
   */
  constructor(
    readonly direction: BeltDirection,
    private readonly width: number,
    private readonly height: number,
    private readonly edgePx: number,
  ) {
    const horizontal = direction === 'left' || direction === 'right';
    this.length = horizontal ? width : height;
    this.across = horizontal ? height : width;
  }

  toSpan(b: Box): Span {
    const [x1, y1, x2, y2] = b;
    switch (this.direction) {
      case 'left':
        return { u1: this.width - x2, u2: this.width - x1, w1: y1, w2: y2 };
      case 'right':
        return { u1: x1, u2: x2, w1: y1, w2: y2 };
      case 'up':
        return { u1: this.height - y2, u2: this.height - y1, w1: x1, w2: x2 };
      case 'down':
        return { u1: y1, u2: y2, w1: x1, w2: x2 };
    }
  }

  toBox(s: Span): Box {
    switch (this.direction) {
      case 'left':
        return [this.width - s.u2, s.w1, this.width - s.u1, s.w2];
      case 'right':
        return [s.u1, s.w1, s.u2, s.w2];
      case 'up':
        return [s.w1, this.height - s.u2, s.w2, this.height - s.u1];
      case 'down':
        return [s.w1, s.u1, s.w2, s.u2];
    }
  }

  /** The trailing end is cut: the object is still scrolling in. */
  entryCut(s: Span): boolean {
    return s.u1 <= this.edgePx;
  }

  /** The leading end is cut: the object is scrolling out. */
  exitCut(s: Span): boolean {
    return s.u2 >= this.length - this.edgePx;
  }

  cut(s: Span): boolean {
    return this.entryCut(s) || this.exitCut(s);
  }

  /** Whole object past the exit edge. */
  gone(s: Span): boolean {
    return s.u1 >= this.length - this.edgePx;
  }

  /** Moved `d` px along the belt (may lie partly or wholly outside the picture). */
  shift(s: Span, d: number): Span {
    return { u1: s.u1 + d, u2: s.u2 + d, w1: s.w1, w2: s.w2 };
  }

  /** What a detector could still see of a span: the part inside the picture. */
  clip(s: Span): Span {
    return {
      u1: clamp(s.u1, 0, this.length),
      u2: clamp(s.u2, 0, this.length),
      w1: clamp(s.w1, 0, this.across),
      w2: clamp(s.w2, 0, this.across),
    };
  }

  /**
   * How far an object moved between two sightings, from the ends that neither sighting had cut: a
   * cut end sits on the picture edge and says nothing about the motion. Null when both ends were cut
   * in one of them (an object longer than the picture).
   */
  displacement(a: Span, b: Span): number | null {
    const lead = this.exitCut(a) || this.exitCut(b) ? null : b.u2 - a.u2;
    const trail = this.entryCut(a) || this.entryCut(b) ? null : b.u1 - a.u1;
    if (lead !== null && trail !== null) return (lead + trail) / 2;
    return lead ?? trail;
  }
}

export function spanIou(a: Span, b: Span): number {
  const iu = Math.max(0, Math.min(a.u2, b.u2) - Math.max(a.u1, b.u1));
  const iw = Math.max(0, Math.min(a.w2, b.w2) - Math.max(a.w1, b.w1));
  const inter = iu * iw;
  const union = (a.u2 - a.u1) * (a.w2 - a.w1) + (b.u2 - b.u1) * (b.w2 - b.w1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Belt speed in px per frame: the median of the per-frame displacements of matched objects over the
 * latest few frames. A median, because one wrong match or a jittery box must not move every
 * prediction; a window in frames rather than samples, so a belt that stops or starts again is
 * followed within a few frames however many objects are in view.
 */
export class SpeedEstimate {
  private samples: Array<{ frame: number; v: number }> = [];
  private last: number | null = null;

  constructor(private readonly windowFrames: number) {}

  add(frame: number, pxPerFrame: number): void {
    this.samples.push({ frame, v: pxPerFrame });
    const oldest = frame - this.windowFrames;
    this.samples = this.samples.filter((s) => s.frame > oldest);
    this.last = median(this.samples.map((s) => s.v));
  }

  /** Null until a first displacement was measured; with nothing in view, the last measurement. */
  value(): number | null {
    return this.last;
  }

  reset(): void {
    this.samples = [];
    this.last = null;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
