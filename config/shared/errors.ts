/**
 * The one error catalogue. Codes are stable: operators grep logs for them and the city's systems
 * key on them, so a code is never renamed or reused. Every entry says how to fix the problem,
 * because the person reading it is a site technician, not the author.
 */
export const ERRORS = {
  CONFIG_INVALID: {
    status: 500,
    message: 'configuration is invalid',
    fix: 'run `parcelguard check CONFIG` and correct each listed path',
  },
  CONFIG_UNREADABLE: {
    status: 500,
    message: 'configuration file cannot be read',
    fix: 'check the path and that the file is valid YAML',
  },
  CONFIG_VERSION: {
    status: 500,
    message: 'configuration version is not supported',
    fix: 'set `version` to a version this release knows (see config/migrations.ts)',
  },

  IMAGE_EMPTY: {
    status: 400,
    message: 'image file is empty (0 bytes)',
    fix: 'check the X-ray machine export; the file was written with no content',
  },
  IMAGE_UNSUPPORTED: {
    status: 415,
    message: 'file is not a supported image (JPEG, PNG, BMP, TIFF)',
    fix: 'configure the machine to export JPEG, PNG, BMP or TIFF',
  },
  IMAGE_CORRUPT: {
    status: 422,
    message: 'image cannot be decoded',
    fix: 'the file is truncated or damaged; check the machine export and the disk it writes to',
  },
  IMAGE_TOO_LARGE: {
    status: 413,
    message: 'image has more pixels than allowed',
    fix: 'raise `limits.maxImagePixels` only if the machine really exports images this large',
  },
  UPLOAD_TOO_LARGE: {
    status: 413,
    message: 'upload is larger than allowed',
    fix: 'raise `http.maxUploadMb` or send smaller images',
  },
  UPLOAD_INVALID: {
    status: 400,
    message: 'upload is malformed',
    fix: 'send multipart/form-data with one or two image parts and an optional `meta` JSON field',
  },
  SIDECAR_INVALID: {
    status: 422,
    message: 'sidecar metadata is invalid',
    fix: 'the sidecar must be a JSON object with optional waybill, machineId, view, capturedAt',
  },
  FILENAME_HOSTILE: {
    status: 400,
    message: 'file name is not acceptable',
    fix: 'use plain file names: letters, digits, dot, dash, underscore, no path parts',
  },
  SOURCE_UNKNOWN: {
    status: 404,
    message: 'unknown X-ray machine',
    fix: 'add the machine to `xray` in the configuration',
  },
  VIEW_UNKNOWN: {
    status: 422,
    message: 'unknown view for this machine',
    fix: 'use one of the views configured for the machine',
  },

  MODEL_LOAD: {
    status: 500,
    message: 'model cannot be loaded',
    fix: 'check the model path and that the file is a valid ONNX model',
  },
  MODEL_SHAPE: {
    status: 500,
    message: 'model inputs/outputs do not match the configuration',
    fix: 'correct `models[].input`/`output` to the shapes the model declares',
  },
  MODEL_UNKNOWN: {
    status: 500,
    message: 'a source names a model that is not configured',
    fix: 'add the model under `models` or remove it from the source',
  },
  INFERENCE_FAILED: {
    status: 500,
    message: 'inference failed',
    fix: 'see the cause; a repeating failure usually means a broken model file',
  },

  AUTH_MISSING: {
    status: 401,
    message: 'missing or unknown token',
    fix: 'send `Authorization: Bearer <token>` with a token configured under `http.tokens`',
  },
  AUTH_FORBIDDEN: {
    status: 403,
    message: 'token is not allowed to do this',
    fix: 'use a token whose role and scope cover this route',
  },
  NOT_FOUND: { status: 404, message: 'not found', fix: 'check the id' },

  // Cameras (adapters/onvif).
  ONVIF_AUTH: {
    status: 502,
    message: 'ONVIF authentication failed',
    fix: "check `cameras[].onvif.username`/`password` (an ONVIF user, media/operator rights); the camera must accept WS-UsernameToken authentication (some default to HTTP Digest only), and the gateway's clock must be within a few minutes of the camera's",
  },
  ONVIF_UNREACHABLE: {
    status: 504,
    message: 'ONVIF device is unreachable',
    fix: 'check `cameras[].onvif.xaddr` (usually http://HOST/onvif/device_service), that the camera is powered, on this network, and ONVIF is enabled in its web page',
  },
  ONVIF_PROTOCOL: {
    status: 502,
    message: 'ONVIF device gave an unusable answer',
    fix: 'the camera must support ONVIF Profile S (media service, H.264 profiles, RTSP); update its firmware or configure `rtsp.url` instead',
  },
  ONVIF_PROFILE_UNKNOWN: {
    status: 500,
    message: 'configured ONVIF profile does not exist on the device',
    fix: 'set `cameras[].onvif.profile` to a token or name that `parcelguard discover` lists, or remove it to use the best H.264 profile',
  },
  SNAPSHOT_FAILED: {
    status: 502,
    message: 'camera snapshot failed',
    fix: 'open the snapshot URI in a browser with the same credentials; some cameras need snapshots enabled in their web page',
  },
  SNAPSHOT_EMPTY: {
    status: 502,
    message: 'camera returned an empty snapshot',
    fix: 'the camera answered without an image (common right after boot or when its encoder is busy); retry, reboot or update its firmware',
  },
  DISCOVERY_FAILED: {
    status: 500,
    message: 'WS-Discovery failed',
    fix: 'run on the camera network with UDP port 3702 and multicast 239.255.255.250 allowed, or give the xaddr by hand',
  },

  STORE_FAILED: {
    status: 500,
    message: 'local store failed',
    fix: 'check free disk space and permissions of the data directory',
  },
  BROKER_UNREACHABLE: {
    status: 503,
    message: 'MQTT broker is unreachable',
    fix: 'check `mqtt.url`, credentials and the network; alerts wait in the outbox meanwhile',
  },

  // Streams (adapters/rtsp).
  STREAM_UNREACHABLE: {
    status: 504,
    message: 'camera stream is unreachable',
    fix: 'check the host and port in the stream URL (RTSP is usually port 554), that the camera is powered and on this network, and that no firewall blocks it; the gateway keeps retrying',
  },
  STREAM_NOT_FOUND: {
    status: 502,
    message: 'camera has no stream at this path',
    fix: 'correct the path in `cameras[].rtsp.url` (see the camera manual), or configure the camera by `onvif` so the path is asked from the camera',
  },
  STREAM_AUTH: {
    status: 502,
    message: 'camera refused the stream credentials',
    fix: 'check the user name and password in the stream URL (percent-encode special characters) and that the user may view streams',
  },
  STREAM_STALLED: {
    status: 504,
    message: 'camera stream stalled',
    fix: 'the camera stopped sending frames while connected: check its load, the network between it and the gateway, and its client limit; with `udp` transport try `tcp`',
  },
  STREAM_DISCONNECTED: {
    status: 502,
    message: 'camera stream disconnected',
    fix: 'the camera ended the stream (reboot, session limit, network drop); the gateway reconnects by itself, so a repeating message points at the camera or the network',
  },
  STREAM_CORRUPT: {
    status: 502,
    message: 'camera stream cannot be decoded',
    fix: 'use an H.264, H.265 or MJPEG stream; on a lossy network use `tcp` transport; update the camera firmware if it persists',
  },
  STREAM_SLOW: {
    status: 502,
    message: 'camera delivers fewer frames than configured',
    fix: 'lower the analysis frame rate, raise the camera frame rate, or check bandwidth and gateway CPU',
  },
  FFMPEG_UNAVAILABLE: {
    status: 500,
    message: 'ffmpeg cannot be started',
    fix: 'install ffmpeg (`apt-get install ffmpeg`) so that `ffmpeg` is on the PATH of the gateway',
  },

  CAMERA_UNKNOWN: {
    status: 404,
    message: 'no such camera',
    fix: 'use a camera id from the `cameras` section of the config (GET /api/v1/cameras lists them)',
  },
  CAMERA_NO_FRAME: {
    status: 503,
    message: 'camera has no current picture',
    fix: 'the camera is offline or still connecting; see its status (GET /api/v1/cameras) and its reason',
  },
  LIVE_VIEW_LIMIT: {
    status: 429,
    message: 'too many live views open',
    fix: 'close another live view, or use snapshots; each live view costs the gateway CPU',
  },
  RECORDER_FAILED: {
    status: 502,
    message: 'evidence recorder cannot record the camera stream',
    fix: 'check the camera (its status and reason) and that the data disk is writable and not full',
  },
  CLIP_UNAVAILABLE: {
    status: 404,
    message: 'no recorded video covers the requested time',
    fix: 'the camera was offline or the ring buffer had already rotated; check the camera status around that time',
  },
  EVIDENCE_QUOTA: {
    status: 507,
    message: 'video evidence has reached its disk quota',
    fix: 'raise `evidence.quotaMb`, shorten `record.ringSeconds`, or close old alerts so their clips can expire',
  },
  TIP_UNKNOWN_DEVICE: {
    status: 404,
    message: 'threat-image projection can only be set on an xray-display camera',
    fix: 'use the id of a camera with `role: xray-display`',
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class PgError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fix: string;
  /** Untrusted or bulky context (file names, paths) kept apart from the message for structured logs. */
  readonly details: Record<string, unknown> | undefined;

  /** `opts.message` replaces the composed "<catalogue message>: <detail>" when an adapter words it whole. */
  constructor(
    code: ErrorCode,
    detail?: string,
    opts?: { cause?: unknown; details?: Record<string, unknown>; message?: string },
  ) {
    const entry = ERRORS[code];
    super(
      opts?.message ?? (detail ? `${entry.message}: ${detail}` : entry.message),
      opts?.cause ? { cause: opts.cause } : undefined,
    );
    this.name = 'PgError';
    this.code = code;
    this.status = entry.status;
    this.fix = entry.fix;
    this.details = opts?.details;
  }

  toJSON(): { code: string; message: string; fix: string } {
    return { code: `PG_${this.code}`, message: this.message, fix: this.fix };
  }
}

export function isPgError(err: unknown, code?: ErrorCode): err is PgError {
  return err instanceof PgError && (code === undefined || err.code === code);
}

/** Normalises anything thrown into a message safe to log; never throws itself. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
