import { type Logger, pino } from 'pino';

export type { Logger };

/** Credentials inside URLs (rtsp://user:pass@host) are redacted wherever a URL is logged. */
export function redactUrl(url: string): string {
  return url.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/gi, '$1***@');
}

const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.*.password',
  '*.*.token',
  'req.headers.authorization',
  'headers.authorization',
];

export interface LogOptions {
  level?: string;
  /** Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { service: 'parcelguard' },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // Any string value that is a URL with credentials is scrubbed before it is written.
      log(obj: Record<string, unknown>) {
        for (const [k, v] of Object.entries(obj)) {
          if (typeof v === 'string' && v.includes('://')) obj[k] = redactUrl(v);
        }
        return obj;
      },
    },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

/** One child per component; untrusted data goes under a nested key, never at the top level. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
