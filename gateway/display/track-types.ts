/**
 * What the display tracker takes and tells: its options, the detections it tracks, and the events and
 * snapshots it hands out. Plain data, so the screener and the tests can hold them.
 */
import type { Box } from '../../config/shared/types.js';
import type { BeltDirection } from './belt.js';

export type { BeltDirection } from './belt.js';

export interface Trackable {
  label: string;
  category?: string;
  score: number;
  box: Box;
}

export interface TrackerOptions {
  direction: BeltDirection;
  /** The picture the boxes are in (the ROI crop), px. */
  width: number;
  height: number;
  minHits: number;
  maxMissed: number;
  /** `improved` only when the best quality rose by at least this; default 0.05. */
  improveMargin?: number;
  /** At most one `improved` per track in this many frames; default 5. */
  improveEveryFrames?: number;
  /** A box this close to the picture's edge is cut by it; default 3 px. */
  edgePx?: number;
  /** Quality of a cut sighting relative to a whole one of the same score; default 0.5. */
  cutFactor?: number;
  /** Frames whose displacements make the speed median; default 6. */
  speedWindow?: number;
  /** Overlap for a detection of another label to continue a track; null: never. Default 0.5. */
  relabelIou?: number | null;
  /** Smallest gate, px, so that small boxes still tolerate detector jitter; default 8. */
  minGatePx?: number;
  /** Before the speed is known, the largest step per frame, as a share of the picture; default 0.35. */
  maxStepFraction?: number;
  /** Track ids are this plus a counter; default 't'. */
  idPrefix?: string;
}

export interface Observation<T> {
  frame: number;
  det: T;
  /** The box touched the entry or exit edge: part of the object was outside the picture. */
  cut: boolean;
  /** What "best" means: the score, discounted when cut, so the evidence shows the whole object. */
  quality: number;
}

/** A snapshot: safe to keep, never changes. */
export interface TrackView<T> {
  readonly id: string;
  readonly label: string;
  readonly hits: number;
  readonly missed: number;
  readonly confirmed: boolean;
  readonly firstFrame: number;
  readonly lastFrame: number;
  readonly box: Box;
  readonly best: Observation<T>;
}

export type EndReason = 'missed' | 'exited' | 'flushed';

export type TrackEvent<T> =
  | { type: 'confirmed'; frame: number; track: TrackView<T> }
  | { type: 'improved'; frame: number; track: TrackView<T> }
  | { type: 'ended'; frame: number; track: TrackView<T>; reason: EndReason };
