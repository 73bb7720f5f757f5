/**
 * The current picture of one camera as a JPEG. An ONVIF camera with a snapshot URI is asked for its own
 * (full resolution, encoded by the camera); any other camera, or one whose snapshot fails, gets its
 * latest analysis frame encoded by sharp, as long as that frame is recent: an old frame shown as
 * "current" would mislead an operator about what the camera sees now.
 */
import sharp from 'sharp';
import type { VideoFrame } from '../../adapters/rtsp/reader.js';
import { errorMessage, PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';

/** What this needs of an OnvifCamera (adapters/onvif/camera.ts), which satisfies it as it is. */
export interface OnvifSnapshotSource {
  readonly connected: boolean;
  describe(): { snapshotUri: string | null };
  snapshot(signal?: AbortSignal): Promise<Buffer>;
}

export interface CameraSnapshotOptions {
  /** Camera id, for errors and logs. */
  id: string;
  /** The reader's newest frame (CameraUnit.latestFrame); the reader never reuses a frame's buffer. */
  latestFrame: () => VideoFrame | null;
  /** The camera's ONVIF adapter once resolved (CameraUnit.onvifCamera); absent for rtsp cameras. */
  onvif?: () => OnvifSnapshotSource | null;
  /** A frame older than this is not current; default 5000 ms. */
  maxAgeMs?: number;
  /** JPEG quality of encoded frames, default 80. */
  quality?: number;
  log: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

export class CameraSnapshot {
  readonly id: string;
  private readonly o: CameraSnapshotOptions;
  private readonly maxAgeMs: number;
  private readonly quality: number;
  private readonly log: Logger;
  private readonly now: () => number;
  /** The JPEG of the frame last encoded, shared by concurrent requests for the same frame. */
  private encoded: { frame: VideoFrame; jpeg: Promise<Buffer> } | null = null;

  constructor(o: CameraSnapshotOptions) {
    this.id = o.id;
    this.o = o;
    this.maxAgeMs = o.maxAgeMs ?? 5000;
    this.quality = o.quality ?? 80;
    this.log = o.log.child({ camera: { id: o.id } });
    this.now = o.now ?? Date.now;
  }

  /** The camera's own snapshot service, when it is ONVIF, initialised and has a snapshot URI. */
  private onvifSource(): OnvifSnapshotSource | null {
    const onvif = this.o.onvif?.() ?? null;
    return onvif?.connected && onvif.describe().snapshotUri !== null ? onvif : null;
  }

  /**
   * The current JPEG. Throws CAMERA_NO_FRAME when there is no recent frame and no camera snapshot, or
   * the camera's snapshot error (SNAPSHOT_FAILED…) when that failed and no recent frame can stand in.
   */
  async snapshot(signal?: AbortSignal): Promise<Buffer> {
    const onvif = this.onvifSource();
    if (onvif) {
      try {
        return await onvif.snapshot(signal);
      } catch (err) {
        if (signal?.aborted || !this.currentFrame()) throw err;
        // The stream is healthy while the camera's snapshot service is not (busy encoder, disabled).
        this.log.debug({ err: errorMessage(err) }, 'camera snapshot failed; encoding the latest frame');
      }
    }
    return this.frameJpeg();
  }

  /** The latest frame as JPEG, if it is recent enough. */
  async frameJpeg(): Promise<Buffer> {
    const frame = this.currentFrame();
    if (!frame) {
      const stale = this.o.latestFrame();
      const age = stale ? `${((this.now() - stale.receivedAt) / 1000).toFixed(1)} s old` : null;
      throw new PgError(
        'CAMERA_NO_FRAME',
        age
          ? `camera "${this.id}": the last picture is ${age}`
          : `camera "${this.id}" has sent no picture yet`,
      );
    }
    let entry = this.encoded;
    if (entry?.frame !== frame) {
      const fresh = { frame, jpeg: encodeJpeg(frame, this.quality) };
      entry = fresh;
      this.encoded = fresh;
      // A failed encode must not be served from the cache to the next request.
      fresh.jpeg.catch(() => {
        if (this.encoded === fresh) this.encoded = null;
      });
    }
    try {
      return await entry.jpeg;
    } catch (err) {
      throw new PgError('SNAPSHOT_FAILED', `frame of camera "${this.id}" cannot be encoded`, { cause: err });
    }
  }

  private currentFrame(): VideoFrame | null {
    const f = this.o.latestFrame();
    return f && this.now() - f.receivedAt <= this.maxAgeMs ? f : null;
  }
}

/** rgb24 → JPEG in libvips' thread pool. */
export function encodeJpeg(frame: VideoFrame, quality = 80): Promise<Buffer> {
  const { width, height, data } = frame;
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}
