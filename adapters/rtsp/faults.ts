/**
 * Why a stream went down, in catalogue codes, and what to wait before the next try. ffmpeg says what
 * went wrong only on stderr, in free text that echoes the URL (credentials included), so every line is
 * scrubbed before it is kept and the reason shown to people is our own wording.
 */
import type { ErrorCode } from '../../config/shared/errors.js';
import { redactUrl } from '../../config/shared/log.js';

export type StreamErrorCode = Extract<
  ErrorCode,
  | 'STREAM_UNREACHABLE'
  | 'STREAM_NOT_FOUND'
  | 'STREAM_AUTH'
  | 'STREAM_STALLED'
  | 'STREAM_DISCONNECTED'
  | 'STREAM_CORRUPT'
  | 'STREAM_SLOW'
  | 'FFMPEG_UNAVAILABLE'
>;

export interface StreamFault {
  code: StreamErrorCode;
  /** One line for people (status, API, MQTT): our words, never raw ffmpeg output. */
  reason: string;
}

/** How an ffmpeg process ended, as the classifier needs it. */
export interface ExitFacts {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Last stderr lines, already scrubbed. */
  stderr: readonly string[];
  /** Frames this process delivered. */
  frames: number;
  /** Bytes of an incomplete frame left on stdout. */
  pendingBytes: number;
}

/** Strings of the URL that must never leave the process: the userinfo, raw and percent-decoded. */
export function secretsOf(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]+)@/i.exec(url);
  const userinfo = m?.[1];
  if (!userinfo) return [];
  const secrets = new Set<string>([userinfo]);
  const colon = userinfo.indexOf(':');
  const password = colon >= 0 ? userinfo.slice(colon + 1) : '';
  for (const s of [password, safeDecode(password), safeDecode(userinfo)]) {
    // Very short passwords would blank out ordinary words; inside URLs redactUrl catches them anyway.
    if (s.length >= 4) secrets.add(s);
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not valid percent-encoding: the raw form is all ffmpeg can print
  }
}

/** Removes URL credentials and the known secrets from a line of untrusted text; bounds its length. */
export function scrub(text: string, secrets: readonly string[], max = 300): string {
  let out = redactUrl(text);
  for (const s of secrets) out = out.split(s).join('***');
  // Control characters from a hostile server's error strings must not reach logs or terminals.
  out = out.replace(/\p{Cc}/gu, ' ');
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

const PATTERNS: ReadonlyArray<[RegExp, (f: ExitFacts) => StreamFault]> = [
  [
    /\b401\b|unauthori[sz]ed|authori[sz]ation failed/i,
    () => fault('STREAM_AUTH', 'camera refused the credentials (401)'),
  ],
  [/\b404\b/, () => fault('STREAM_NOT_FOUND', 'camera has no stream at this path (404)')],
  [/connection refused/i, () => fault('STREAM_UNREACHABLE', 'connection refused')],
  [/no route to host|network is unreachable/i, () => fault('STREAM_UNREACHABLE', 'no route to host')],
  [
    /name or service not known|failed to resolve|temporary failure in name resolution/i,
    () => fault('STREAM_UNREACHABLE', 'host name does not resolve'),
  ],
  [
    /timed out/i,
    (f) =>
      f.frames > 0
        ? fault('STREAM_STALLED', 'camera stopped sending (socket timeout)')
        : fault('STREAM_UNREACHABLE', 'camera did not answer within the timeout'),
  ],
  [/connection reset|broken pipe/i, () => fault('STREAM_DISCONNECTED', 'connection reset by the camera')],
];

function fault(code: StreamErrorCode, reason: string): StreamFault {
  return { code, reason };
}

/**
 * The fault behind an ffmpeg exit nobody asked for. Exit 0 is a disconnect too: ffmpeg ends "normally"
 * when the server closes the session or its reads time out.
 */
export function classifyExit(f: ExitFacts): StreamFault {
  // URLs are taken out first: a port or path such as :401 must not read as a status code.
  const text = f.stderr.join('\n').replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
  for (const [pattern, make] of PATTERNS) if (pattern.test(text)) return make(f);
  if (f.pendingBytes > 0) {
    return fault('STREAM_CORRUPT', `ffmpeg output ended inside a frame (${f.pendingBytes} bytes left over)`);
  }
  if (f.signal) return fault('STREAM_DISCONNECTED', `ffmpeg was killed by ${f.signal}`);
  if (f.exitCode === 0) {
    return fault(
      'STREAM_DISCONNECTED',
      f.frames > 0 ? 'camera ended the stream' : 'camera ended the stream before the first frame',
    );
  }
  if (/invalid data|could not find codec|decod|unsupported|no frame/i.test(text)) {
    return fault('STREAM_CORRUPT', `stream cannot be decoded (ffmpeg exit code ${f.exitCode})`);
  }
  return fault('STREAM_DISCONNECTED', `ffmpeg exited with code ${f.exitCode}`);
}

export interface BackoffOptions {
  /** First retry delay, default 1000 ms. */
  initialMs?: number;
  /** Cap, default 30 000 ms. */
  maxMs?: number;
  /** ± fraction of randomness, default 0.2: cameras that failed together do not retry in lockstep. */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based): capped exponential with jitter. */
export function backoffDelay(
  attempt: number,
  o: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = o.initialMs ?? 1000;
  const max = Math.max(initial, o.maxMs ?? 30_000);
  const jitter = Math.min(Math.max(o.jitter ?? 0.2, 0), 1);
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.min(max, Math.max(0, base + spread)));
}
