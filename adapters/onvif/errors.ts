/** ONVIF and snapshot failures, translated from node-onvif's loose Error strings into catalogue codes. */
import { ERRORS, errorMessage, PgError } from '../../config/shared/errors.js';
import { redactUrl } from '../../config/shared/log.js';

export type OnvifErrorCode =
  | 'ONVIF_AUTH'
  | 'ONVIF_UNREACHABLE'
  | 'ONVIF_PROTOCOL'
  | 'ONVIF_PROFILE_UNKNOWN'
  | 'SNAPSHOT_FAILED'
  | 'SNAPSHOT_EMPTY'
  | 'DISCOVERY_FAILED';

/** A PgError whose message the ONVIF adapter words whole (it names the device), with a catalogue code. */
export class OnvifError extends PgError {
  declare readonly code: OnvifErrorCode;

  constructor(
    code: OnvifErrorCode,
    message: string,
    opts?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, undefined, { ...opts, message });
    this.name = 'OnvifError';
  }
}

export function isOnvifError(err: unknown, code?: OnvifErrorCode): err is OnvifError {
  return err instanceof OnvifError && (code === undefined || err.code === code);
}

/**
 * Devices say "wrong password" in many ways: HTTP 401, HTTP 400 with a ter:NotAuthorized fault, or
 * HTTP 200 with a fault whose reason is free text. node-onvif folds all of them into Error messages.
 */
const AUTH_PATTERN =
  /\b401\b|not ?authori[sz]ed|unauthori[sz]ed|requires authori[sz]ation|auth(entication|ori[sz]ation) (failed|required)|invalid (user|password|credential)|wrong password/i;

const NETWORK_REASONS: ReadonlyArray<[RegExp, string]> = [
  [/ECONNREFUSED/, 'connection refused'],
  [/EHOSTUNREACH|ENETUNREACH/, 'no route to host'],
  [/ENOTFOUND|EAI_AGAIN/, 'host name does not resolve'],
  [/ETIMEDOUT|socket hang up|timeout/i, 'no answer'],
  [/ECONNRESET|EPIPE/, 'connection reset'],
];

/**
 * Turns anything node-onvif (or node's http) threw into an OnvifError. `fallback` names the step for
 * failures that are neither authentication nor network. The raw error is kept as `cause` only: its text
 * is the device's own, and the message we build must stay free of it at the top level.
 */
export function classifyOnvifFailure(
  err: unknown,
  xaddr: string,
  fallback: { code: OnvifErrorCode; step: string },
): OnvifError {
  if (err instanceof OnvifError) return err;
  const raw = errorMessage(err);
  const where = redactUrl(xaddr);
  if (AUTH_PATTERN.test(raw)) {
    return new OnvifError(
      'ONVIF_AUTH',
      `ONVIF authentication failed for ${where} (check username/password)`,
      {
        cause: err,
        details: { device: { reply: raw.slice(0, 300) } },
      },
    );
  }
  for (const [pattern, reason] of NETWORK_REASONS) {
    if (pattern.test(raw)) {
      return new OnvifError('ONVIF_UNREACHABLE', `ONVIF device at ${where} is unreachable (${reason})`, {
        cause: err,
      });
    }
  }
  return new OnvifError(fallback.code, `${ERRORS[fallback.code].message} (${fallback.step}) at ${where}`, {
    cause: err,
    details: { device: { reply: raw.slice(0, 300) } },
  });
}
