/**
 * The ffmpeg command line of one stream reader, built as a pure function so that what the gateway runs
 * can be tested without running it. The list goes straight to `spawn` (no shell): a URL full of `&`,
 * `;` or quotes is one argument, never a command.
 */
import { PgError } from '../../config/shared/errors.js';
import { redactUrl } from '../../config/shared/log.js';

export type RtspTransport = 'tcp' | 'udp';

/**
 * How the camera picture becomes the consumer's frame size: `pad` keeps the aspect ratio and fills the
 * rest (letterbox), `stretch` scales to exactly width×height.
 */
export type FrameFit = 'pad' | 'stretch';

export interface FfmpegReaderArgs {
  /** rtsp:// or rtsps:// URL, credentials included (they only ever reach ffmpeg's argv). */
  url: string;
  /** Analysis frame rate: ffmpeg samples the stream down to this (fractions allowed, e.g. 0.5). */
  fps: number;
  width: number;
  height: number;
  /** Default `tcp`: interleaved RTP survives NAT and loses no packets to a busy switch. */
  transport?: RtspTransport;
  /** Socket I/O timeout; without it ffmpeg waits forever on a camera that stopped answering. */
  timeoutMs: number;
  /** Default `pad`. */
  fit?: FrameFit;
  /** Colour of the padding (ffmpeg colour syntax), default black. */
  padColor?: string;
}

const MAX_SIDE = 8192;

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 2 || v > MAX_SIDE) {
    throw new PgError('CONFIG_INVALID', `${name} must be an integer from 2 to ${MAX_SIDE}, got ${v}`);
  }
}

/** ffmpeg reads `fps=` as a rational; plain decimals (no exponent, no locale) are the safe spelling. */
function formatFps(fps: number): string {
  if (!Number.isFinite(fps) || fps <= 0 || fps > 120) {
    throw new PgError('CONFIG_INVALID', `fps must be above 0 and at most 120, got ${fps}`);
  }
  return Number.isInteger(fps) ? String(fps) : fps.toFixed(6).replace(/0+$/, '');
}

/** The `-vf` chain: sample first (fewer frames to scale), then scale to what the consumer needs. */
export function videoFilter(
  a: Pick<FfmpegReaderArgs, 'fps' | 'width' | 'height' | 'fit' | 'padColor'>,
): string {
  checkSize('width', a.width);
  checkSize('height', a.height);
  const fps = `fps=${formatFps(a.fps)}`;
  const { width: w, height: h } = a;
  if ((a.fit ?? 'pad') === 'stretch') return `${fps},scale=${w}:${h}`;
  const color = a.padColor ?? 'black';
  if (!/^(#|0x)?[0-9a-zA-Z@.]+$/.test(color)) {
    throw new PgError('CONFIG_INVALID', `padColor is not an ffmpeg colour: ${JSON.stringify(color)}`);
  }
  return (
    `${fps},scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
    `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=${color}`
  );
}

/** Bytes of one rgb24 frame: what the parser cuts stdout into. */
export function frameBytes(width: number, height: number): number {
  return width * height * 3;
}

export function buildFfmpegArgs(a: FfmpegReaderArgs): string[] {
  if (!/^rtsps?:\/\//i.test(a.url)) {
    throw new PgError('CONFIG_INVALID', `stream URL must be rtsp:// or rtsps://: ${redactUrl(a.url)}`);
  }
  if (!Number.isFinite(a.timeoutMs) || a.timeoutMs < 100) {
    throw new PgError('CONFIG_INVALID', `timeoutMs must be at least 100, got ${a.timeoutMs}`);
  }
  const transport = a.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') {
    throw new PgError('CONFIG_INVALID', `transport must be tcp or udp, got ${String(transport)}`);
  }
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'error',
    // Input options: they apply to the URL that follows.
    '-rtsp_transport',
    transport,
    // RTSP's socket timeout is in microseconds (ffmpeg >= 5; older versions called it -stimeout).
    '-timeout',
    String(Math.round(a.timeoutMs * 1000)),
    // No frame-rate probe: ffmpeg otherwise buffers ~2 s of a fresh stream to guess the rate, then
    // delivers it in one burst that the newest-wins hand-off mostly drops (measured: first picture
    // after ~3 s instead of ~1 s). The fps filter below sets the rate anyway.
    '-fpsprobesize',
    '0',
    // Set up the video track only: no audio RTP session the gateway would have to receive and discard.
    '-allowed_media_types',
    'video',
    '-i',
    a.url,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    videoFilter(a),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
}
