/**
 * Media profiles and URIs: turns node-onvif's loosely typed profile list into plain records, picks the
 * profile a camera should stream, and handles credentials in stream URIs (inserted for ffmpeg only,
 * redacted everywhere else).
 */
import { redactUrl } from '../../config/shared/log.js';
import { OnvifError } from './errors.js';
import type { NodeOnvifProfile } from './node-onvif.js';

export interface OnvifProfile {
  token: string;
  name: string;
  /** As the device names it: H264, H265, JPEG, MPEG4; null when the profile has no video encoder. */
  encoding: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  /** RTSP URI as the device gave it (no credentials added; redact before logging, devices may embed some). */
  streamUri: string | null;
  snapshotUri: string | null;
}

export interface OnvifDeviceInfo {
  manufacturer: string | null;
  model: string | null;
  firmware: string | null;
  serial: string | null;
}

/**
 * A device string made safe to show: xml2js hands text either as a string or as `{_: text}` when the
 * element has attributes; control characters (newlines in a model name would forge log or YAML lines)
 * are replaced and the length capped.
 */
export function deviceText(v: unknown, max = 200): string | null {
  let s: unknown = v;
  if (s !== null && typeof s === 'object' && '_' in s) s = (s as { _: unknown })._;
  if (typeof s !== 'string' && typeof s !== 'number') return null;
  // \p{Cc}: C0 and C1 control characters (newline, escape, …).
  const clean = String(s)
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
  return clean === '' ? null : clean.slice(0, max);
}

function positiveInt(v: unknown): number | null {
  const n = typeof v === 'number' ? v : Number.parseInt(String(deviceText(v) ?? ''), 10);
  return Number.isFinite(n) && n > 0 ? Math.round(n) : null;
}

function uriOf(v: unknown, schemes: RegExp): string | null {
  const s = deviceText(v, 2000);
  return s && schemes.test(s) ? s : null;
}

export function normaliseProfiles(list: readonly NodeOnvifProfile[]): OnvifProfile[] {
  const out: OnvifProfile[] = [];
  for (const p of list) {
    const token = deviceText(p.token);
    if (!token) continue; // a profile without a token cannot be asked for a stream
    const enc = p.video?.encoder ?? null;
    out.push({
      token,
      name: deviceText(p.name) ?? token,
      encoding: enc ? (deviceText(enc.encoding)?.toUpperCase() ?? null) : null,
      width: positiveInt(enc?.resolution?.width),
      height: positiveInt(enc?.resolution?.height),
      fps: positiveInt(enc?.framerate),
      // Some devices answer the RTSP request with nothing but fill the UDP one with the rtsp:// URI.
      streamUri: uriOf(p.stream?.rtsp, /^rtsps?:\/\//i) ?? uriOf(p.stream?.udp, /^rtsps?:\/\//i),
      snapshotUri: uriOf(p.snapshot, /^https?:\/\//i),
    });
  }
  return out;
}

export function normaliseInfo(info: Record<string, unknown> | null): OnvifDeviceInfo {
  return {
    manufacturer: deviceText(info?.Manufacturer),
    model: deviceText(info?.Model),
    firmware: deviceText(info?.FirmwareVersion),
    serial: deviceText(info?.SerialNumber),
  };
}

/** "1920x1080 H264 25 fps", for logs, errors and the discover listing. */
export function describeProfile(p: OnvifProfile): string {
  const parts = [
    p.width && p.height ? `${p.width}x${p.height}` : null,
    p.encoding,
    p.fps ? `${p.fps} fps` : null,
  ].filter((x): x is string => x !== null);
  return parts.length > 0 ? parts.join(' ') : 'no video encoder';
}

const pixels = (p: OnvifProfile) => (p.width ?? 0) * (p.height ?? 0);

/**
 * The configured profile (token first, then name, both exact), or the best one to analyse: H.264 with
 * a stream URI and the most pixels, else any profile with a stream URI and the most pixels (H.265 or
 * MJPEG still decode in ffmpeg, just at a higher CPU cost). Throws when nothing can be streamed.
 */
export function chooseProfile(
  profiles: readonly OnvifProfile[],
  wanted: string | undefined,
  where: string,
): OnvifProfile {
  if (wanted !== undefined && wanted !== '') {
    const hit = profiles.find((p) => p.token === wanted) ?? profiles.find((p) => p.name === wanted);
    if (!hit) {
      const available = profiles.map((p) => `${p.token} (${p.name}, ${describeProfile(p)})`).join('; ');
      throw new OnvifError('ONVIF_PROFILE_UNKNOWN', `ONVIF profile "${wanted}" not found on ${where}`, {
        details: { device: { profiles: available || 'none' } },
      });
    }
    if (!hit.streamUri)
      throw new OnvifError(
        'ONVIF_PROTOCOL',
        `ONVIF profile "${hit.token}" on ${where} has no RTSP stream URI`,
      );
    return hit;
  }
  const streamable = profiles.filter((p) => p.streamUri !== null);
  const h264 = streamable.filter((p) => p.encoding === 'H264');
  const best = [...(h264.length > 0 ? h264 : streamable)].sort((a, b) => pixels(b) - pixels(a))[0];
  if (!best) {
    throw new OnvifError(
      'ONVIF_PROTOCOL',
      profiles.length === 0
        ? `ONVIF device at ${where} has no media profiles`
        : `ONVIF device at ${where} gave no RTSP stream URI for any profile (the camera user may lack media rights)`,
    );
  }
  return best;
}

/** The URI with `user:password@` set (percent-encoded), for ffmpeg's argument list only. */
export function withCredentials(uri: string, username: string, password: string): string {
  if (!username) return uri;
  const u = new URL(uri);
  if (u.username) return uri; // the device already embedded credentials; keep its choice
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Query parameters some cameras use to carry credentials in stream and snapshot URIs. */
// `token` is left alone: in ONVIF snapshot URIs it names the media profile, and hiding it hides the
// one thing that tells two profiles' URIs apart.
const SECRET_PARAMS = /^(pass(word)?|pwd|passwd|user(name)?|usr|login|auth|secret|api_?key)$/i;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a malformed escape: match on the raw text
  }
}

/**
 * Safe-to-show form of a stream or snapshot URI: userinfo replaced by `***` (shared redactUrl) and
 * credential-like query parameters blanked, since some devices put the password there.
 */
export function redactUri(uri: string): string {
  const base = redactUrl(uri);
  const q = base.indexOf('?');
  if (q < 0) return base;
  const query = base
    .slice(q + 1)
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const key = eq < 0 ? kv : kv.slice(0, eq);
      return eq >= 0 && SECRET_PARAMS.test(safeDecode(key)) ? `${key}=***` : kv;
    })
    .join('&');
  return `${base.slice(0, q)}?${query}`;
}
