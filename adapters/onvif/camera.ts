/**
 * One ONVIF camera: initialise it (bounded in time), list its media profiles, choose one, and hand out
 * its stream URI (with credentials for ffmpeg only, redacted for everything else) and snapshots.
 *
 * The password and node-onvif's device object (which holds the password in several fields) live in
 * private `#` fields, so neither JSON.stringify, util.inspect nor a logged object can reveal them.
 */
import type { Logger } from '../../config/shared/log.js';
import { classifyOnvifFailure, OnvifError } from './errors.js';
import {
  chooseProfile,
  describeProfile,
  normaliseInfo,
  normaliseProfiles,
  type OnvifDeviceInfo,
  type OnvifProfile,
  redactUri,
  withCredentials,
} from './media.js';
import { type NodeOnvifDevice, nodeOnvif } from './node-onvif.js';
import { fetchSnapshotJpeg } from './snapshot.js';

/** What `cameras[].onvif` holds. */
export interface OnvifTarget {
  xaddr: string;
  username?: string;
  password?: string;
  /** Profile token or name; empty or absent picks the best H.264 profile. */
  profile?: string | undefined;
}

export interface OnvifCameraOptions {
  /** Whole init (six SOAP round trips and more per profile); node-onvif alone could take minutes. */
  timeoutMs?: number;
  snapshotTimeoutMs?: number;
  snapshotMaxBytes?: number;
  log?: Logger;
}

/** Everything about a connected camera that may be logged or sent over the API. */
export interface OnvifCameraSummary {
  xaddr: string;
  device: OnvifDeviceInfo;
  profile: string;
  profiles: OnvifProfile[];
  streamUri: string;
  snapshotUri: string | null;
}

interface Connected {
  info: OnvifDeviceInfo;
  profiles: OnvifProfile[];
  chosen: OnvifProfile;
  streamUri: string;
}

export const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/** Rejects with `onTimeout()` after `ms`, or when `signal` aborts; the raced work itself cannot be stopped. */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(onTimeout());
    };
    const timer = setTimeout(onAbort, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    work.then(
      (v) => {
        finish();
        resolve(v);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
  });
}

export class OnvifCamera {
  /** The device service address, safe to show. */
  readonly xaddr: string;
  readonly #target: Required<Omit<OnvifTarget, 'profile'>> & { profile: string | undefined };
  readonly #opts: Required<Omit<OnvifCameraOptions, 'log'>> & { log: Logger | undefined };
  #state: Connected | null = null;
  #connecting: Promise<OnvifCameraSummary> | null = null;

  constructor(target: OnvifTarget, opts: OnvifCameraOptions = {}) {
    this.xaddr = redactUri(target.xaddr);
    this.#target = {
      xaddr: target.xaddr,
      username: target.username ?? '',
      password: target.password ?? '',
      profile: target.profile,
    };
    this.#opts = {
      timeoutMs: opts.timeoutMs ?? DEFAULT_INIT_TIMEOUT_MS,
      snapshotTimeoutMs: opts.snapshotTimeoutMs ?? 5_000,
      snapshotMaxBytes: opts.snapshotMaxBytes ?? 10 * 1024 * 1024,
      log: opts.log,
    };
  }

  get connected(): boolean {
    return this.#state !== null;
  }

  /**
   * (Re)initialises the camera and chooses its profile. Concurrent calls share one attempt. Always
   * rejects with an OnvifError; the previous state is kept until a new attempt succeeds.
   */
  connect(signal?: AbortSignal): Promise<OnvifCameraSummary> {
    this.#connecting ??= this.#connect(signal).finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(signal?: AbortSignal): Promise<OnvifCameraSummary> {
    const { xaddr, username, password, profile } = this.#target;
    try {
      if (!/^http:\/\//i.test(xaddr)) {
        throw new OnvifError(
          'ONVIF_UNREACHABLE',
          `ONVIF xaddr ${this.xaddr} must be an http:// URL (node-onvif speaks plain HTTP only)`,
        );
      }
      let device: NodeOnvifDevice;
      try {
        // A fresh device object per attempt: node-onvif's init() appends to the previous profile list.
        device = new nodeOnvif.OnvifDevice({ xaddr, user: username, pass: password });
      } catch (err) {
        throw new OnvifError(
          'ONVIF_AUTH',
          `ONVIF credentials for ${this.xaddr} cannot be sent: node-onvif accepts ASCII without < or > only`,
          { cause: err },
        );
      }
      const seconds = (this.#opts.timeoutMs / 1000).toFixed(1);
      await withDeadline(
        device.init(),
        this.#opts.timeoutMs,
        () =>
          new OnvifError(
            'ONVIF_UNREACHABLE',
            signal?.aborted
              ? `ONVIF init of ${this.xaddr} was cancelled`
              : `ONVIF device at ${this.xaddr} did not finish initialising within ${seconds} s`,
          ),
        signal,
      );
      const profiles = normaliseProfiles(device.getProfileList());
      const chosen = chooseProfile(profiles, profile, this.xaddr);
      // chooseProfile only returns profiles with a stream URI.
      const streamUri = chosen.streamUri ?? '';
      this.#state = { info: normaliseInfo(device.getInformation()), profiles, chosen, streamUri };
      const summary = this.describe();
      this.#opts.log?.info(
        {
          camera: { xaddr: this.xaddr, profile: chosen.token, stream: summary.streamUri },
          device: { ...summary.device, profile: describeProfile(chosen) },
        },
        'onvif camera ready',
      );
      return summary;
    } catch (err) {
      const e = classifyOnvifFailure(err, xaddr, { code: 'ONVIF_PROTOCOL', step: 'init' });
      this.#opts.log?.warn(
        {
          camera: { xaddr: this.xaddr },
          code: e.code,
          err: e.message,
          device: e.details?.device,
        },
        'onvif camera init failed',
      );
      throw e;
    }
  }

  #connected(): Connected {
    if (!this.#state)
      throw new OnvifError('ONVIF_PROTOCOL', `ONVIF camera ${this.xaddr} is not initialised yet`);
    return this.#state;
  }

  get info(): OnvifDeviceInfo {
    return { ...this.#connected().info };
  }

  /** Profiles with their URIs redacted. */
  get profiles(): OnvifProfile[] {
    return this.#connected().profiles.map(redactProfile);
  }

  get profile(): OnvifProfile {
    return redactProfile(this.#connected().chosen);
  }

  /** The stream URI for logs and the API: credentials replaced by `***`. */
  get streamUri(): string {
    return redactUri(this.#connected().streamUri);
  }

  /**
   * The stream URI with the camera's credentials in it, for ffmpeg's argument list only: never log,
   * store or return it (use `streamUri` for that).
   */
  streamUriWithCredentials(): string {
    const { username, password } = this.#target;
    return withCredentials(this.#connected().streamUri, username, password);
  }

  /** The chosen profile's JPEG snapshot; an empty answer is an error (SNAPSHOT_EMPTY), never a 0-byte image. */
  async snapshot(signal?: AbortSignal): Promise<Buffer> {
    const { chosen } = this.#connected();
    if (!chosen.snapshotUri)
      throw new OnvifError(
        'SNAPSHOT_FAILED',
        `ONVIF profile "${chosen.token}" on ${this.xaddr} has no snapshot URI`,
      );
    return fetchSnapshotJpeg({
      url: chosen.snapshotUri,
      username: this.#target.username,
      password: this.#target.password,
      timeoutMs: this.#opts.snapshotTimeoutMs,
      maxBytes: this.#opts.snapshotMaxBytes,
      ...(signal ? { signal } : {}),
    });
  }

  describe(): OnvifCameraSummary {
    const s = this.#connected();
    return {
      xaddr: this.xaddr,
      device: { ...s.info },
      profile: s.chosen.token,
      profiles: s.profiles.map(redactProfile),
      streamUri: redactUri(s.streamUri),
      snapshotUri: s.chosen.snapshotUri ? redactUri(s.chosen.snapshotUri) : null,
    };
  }

  /** JSON.stringify(camera) gives the safe summary, never the target with its password. */
  toJSON(): OnvifCameraSummary | { xaddr: string; connected: false } {
    return this.#state ? this.describe() : { xaddr: this.xaddr, connected: false };
  }
}

function redactProfile(p: OnvifProfile): OnvifProfile {
  return {
    ...p,
    streamUri: p.streamUri ? redactUri(p.streamUri) : null,
    snapshotUri: p.snapshotUri ? redactUri(p.snapshotUri) : null,
  };
}
