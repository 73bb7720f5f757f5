/**
 * Snapshot download (HTTP GET of the ONVIF snapshot URI) with the HTTP authentication cameras use:
 * a first request without credentials, then Digest (RFC 7616, MD5 or SHA-256) or Basic as the
 * camera's challenge asks. Written here instead of node-onvif's fetchSnapshot(), whose shared Digest
 * state can mix two cameras' hosts and credentials and which has no timeout (see node-onvif.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { errorMessage } from '../../config/shared/errors.js';
import { OnvifError } from './errors.js';
import { redactUri } from './media.js';

export interface SnapshotRequest {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
  /** A JPEG bigger than this is refused (a broken or hostile device streaming forever). */
  maxBytes: number;
  signal?: AbortSignal;
}

const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a malformed escape: use the text as written
  }
}

/** Parameters of the Digest challenge in a WWW-Authenticate value (which may also list Basic). */
export function parseDigestChallenge(header: string): Record<string, string> | null {
  const at = header.search(/\bDigest\s/i);
  if (at < 0) return null;
  const params: Record<string, string> = {};
  for (const m of header.slice(at + 7).matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    const key = (m[1] ?? '').toLowerCase();
    // First occurrence wins: a Basic challenge listed after Digest has its own realm.
    if (key && !(key in params)) params[key] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return params.nonce ? params : null;
}

/** The Authorization value answering a Digest challenge for one request. */
export function digestAuthorization(
  challenge: Record<string, string>,
  req: { method: string; uri: string; username: string; password: string; cnonce?: string },
): string {
  const algorithm = challenge.algorithm ?? 'MD5';
  const hashName = /^SHA-256/i.test(algorithm) ? 'sha256' : 'md5';
  const h = (s: string) => createHash(hashName).update(s, 'utf8').digest('hex');
  const realm = challenge.realm ?? '';
  const nonce = challenge.nonce ?? '';
  const cnonce = req.cnonce ?? randomBytes(8).toString('hex');
  const nc = '00000001';
  let ha1 = h(`${req.username}:${realm}:${req.password}`);
  if (/-sess$/i.test(algorithm)) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = h(`${req.method}:${req.uri}`);
  const qops = (challenge.qop ?? '').split(',').map((q) => q.trim());
  const qop = qops.includes('auth') ? 'auth' : null;
  const response = qop ? h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(`${ha1}:${nonce}:${ha2}`);
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const parts = [
    `username=${quote(req.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(req.uri)}`,
    `algorithm=${algorithm}`,
    `response=${quote(response)}`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

async function readCapped(res: Response, maxBytes: number, where: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new OnvifError('SNAPSHOT_FAILED', `snapshot from ${where} is larger than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** GETs a snapshot and returns its JPEG bytes; every failure is an OnvifError with the redacted URI. */
export async function fetchSnapshotJpeg(req: SnapshotRequest): Promise<Buffer> {
  const where = redactUri(req.url);
  let target: URL;
  try {
    target = new URL(req.url);
  } catch (err) {
    throw new OnvifError('SNAPSHOT_FAILED', `snapshot URI ${where} is not a valid URL`, { cause: err });
  }
  // fetch refuses URLs with userinfo; a device that embeds credentials in its URI means them to be used.
  const username = req.username || safeDecode(target.username);
  const password = req.username ? req.password : safeDecode(target.password);
  target.username = '';
  target.password = '';
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;

  const get = (authorization?: string) =>
    fetch(target, {
      signal,
      // A redirect could carry the Authorization header to another host; cameras have no reason to.
      redirect: 'error',
      headers: authorization ? { authorization, accept: 'image/jpeg' } : { accept: 'image/jpeg' },
    });

  try {
    let res = await get();
    if (res.status === 401 && username) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel();
      const digest = parseDigestChallenge(challenge);
      const path = `${target.pathname}${target.search}`;
      res = await get(
        digest
          ? digestAuthorization(digest, { method: 'GET', uri: path, username, password })
          : `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
      );
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new OnvifError(
        'ONVIF_AUTH',
        `ONVIF authentication failed for ${where} (check username/password): snapshot answered HTTP ${res.status}`,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new OnvifError('SNAPSHOT_FAILED', `snapshot from ${where} answered HTTP ${res.status}`);
    }
    const type = res.headers.get('content-type');
    if (type && !/^image\//i.test(type)) {
      await res.body?.cancel();
      throw new OnvifError('SNAPSHOT_FAILED', `snapshot from ${where} is not an image`, {
        details: { device: { contentType: type.slice(0, 100) } },
      });
    }
    const body = await readCapped(res, req.maxBytes, where);
    if (body.length === 0)
      throw new OnvifError('SNAPSHOT_EMPTY', `camera returned an empty snapshot from ${where}`);
    if (!body.subarray(0, 3).equals(JPEG_SOI))
      throw new OnvifError('SNAPSHOT_FAILED', `snapshot from ${where} is not a JPEG (${body.length} bytes)`);
    return body;
  } catch (err) {
    if (err instanceof OnvifError) throw err;
    if (timeout.aborted)
      throw new OnvifError(
        'SNAPSHOT_FAILED',
        `snapshot from ${where} did not arrive within ${req.timeoutMs} ms`,
        {
          cause: err,
        },
      );
    if (req.signal?.aborted)
      throw new OnvifError('SNAPSHOT_FAILED', `snapshot from ${where} was cancelled`, { cause: err });
    // undici hides the socket error (ECONNREFUSED…) in `cause`; name it without the raw stack.
    const inner = err instanceof Error && err.cause ? errorMessage(err.cause) : errorMessage(err);
    throw new OnvifError(
      'SNAPSHOT_FAILED',
      `snapshot from ${where} failed: ${redactUri(inner).slice(0, 200)}`,
      {
        cause: err,
      },
    );
  }
}
