import { open } from 'node:fs/promises';
import sharp from 'sharp';
import { errorMessage, PgError } from '../../config/shared/errors.js';
import { readBmpHeader } from './bmp.js';
import { decodeName, SAFE_OPEN_FLAGS } from './files.js';

/**
 * Cheap checks run before a scan is claimed, shared by the hot folder and HTTP push. They read names,
 * sizes and headers only; full decoding (which finds truncated pixel data) happens later in the
 * pipeline. Every refusal is a PgError whose code ends up in the quarantine reason and the metrics.
 */

export type ImageFormat = 'jpeg' | 'png' | 'bmp' | 'tiff';

export { XRAY_IMAGE_EXTENSIONS as IMAGE_EXTENSIONS } from '../../config/shared/types.js';

export const EXT_OF_FORMAT: Record<ImageFormat, string> = {
  jpeg: '.jpg',
  png: '.png',
  bmp: '.bmp',
  tiff: '.tif',
};

export interface ImageLimits {
  maxImagePixels: number;
  maxImageBytes: number;
}

export const MAX_NAME_LENGTH = 200;
// Letters, digits, dot, dash, underscore: what the FILENAME_HOSTILE fix text promises. Spaces and
// non-ASCII letters are refused too, because the name travels into logs, shells and other systems.
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Null when the name is safe to keep; otherwise why not (the message never repeats the name). */
export function checkFileName(name: string | Buffer): PgError | null {
  const text = typeof name === 'string' ? name : decodeName(name);
  const hostile = (why: string) =>
    new PgError('FILENAME_HOSTILE', why, { details: { file: { name: escapeName(name) } } });
  if (text === null) return hostile('name is not valid UTF-8');
  if (text.length === 0) return hostile('name is empty');
  if (text.length > MAX_NAME_LENGTH) return hostile(`name is longer than ${MAX_NAME_LENGTH} characters`);
  if (/[/\\]/.test(text)) return hostile('name contains a path separator');
  if (CONTROL.test(text)) return hostile('name contains control or invisible formatting characters');
  if (text.startsWith('.')) return hostile('name starts with a dot');
  if (text.startsWith('-')) return hostile('name starts with a dash');
  if (!SAFE_NAME.test(text))
    return hostile('name contains characters other than letters, digits, dot, dash, underscore');
  return null;
}

/**
 * A printable, reversible rendering of an untrusted name for reason files and logs: printable ASCII
 * stays, everything else (newlines, bidi overrides, invalid UTF-8 bytes) becomes \u{…} or \x…
 */
export function escapeName(name: string | Buffer): string {
  const text = typeof name === 'string' ? name : decodeName(name);
  if (text === null) {
    return [...(name as Buffer)]
      .map((b) =>
        b >= 0x20 && b < 0x7f && b !== 0x5c
          ? String.fromCharCode(b)
          : `\\x${b.toString(16).padStart(2, '0')}`,
      )
      .join('');
  }
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    out += cp >= 0x20 && cp < 0x7f && ch !== '\\' ? ch : `\\u{${cp.toString(16)}}`;
  }
  return out.length > 600 ? `${out.slice(0, 600)}…` : out;
}

/** Format by magic bytes, whatever the extension says. */
export function sniffFormat(head: Buffer): ImageFormat | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (
    head.length >= 8 &&
    head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'png';
  if (head.length >= 26 && head[0] === 0x42 && head[1] === 0x4d) return 'bmp';
  if (head.length >= 4) {
    const ii =
      head[0] === 0x49 && head[1] === 0x49 && (head[2] === 0x2a || head[2] === 0x2b) && head[3] === 0x00;
    const mm =
      head[0] === 0x4d && head[1] === 0x4d && head[2] === 0x00 && (head[3] === 0x2a || head[3] === 0x2b);
    if (ii || mm) return 'tiff';
  }
  return null;
}

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  bytes: number;
}

export type InspectResult = { ok: true; info: ImageInfo } | { ok: false; error: PgError };

const fail = (error: PgError): InspectResult => ({ ok: false, error });

/**
 * Size, magic bytes and header dimensions of one image file. Never throws: an unreadable file is
 * reported as IMAGE_CORRUPT so the caller can quarantine it like any other bad input. The path is a
 * string on purpose: sharp would take a Buffer for image data, and names that only exist as raw bytes
 * are refused as hostile before anything reads them.
 */
export async function inspectImage(path: string, limits: ImageLimits): Promise<InspectResult> {
  let head: Buffer;
  let bytes: number;
  try {
    const fh = await open(path, SAFE_OPEN_FLAGS);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return fail(new PgError('IMAGE_UNSUPPORTED', 'not a regular file'));
      bytes = st.size;
      if (bytes === 0) return fail(new PgError('IMAGE_EMPTY'));
      if (bytes > limits.maxImageBytes) {
        return fail(
          new PgError(
            'IMAGE_TOO_LARGE',
            `file is ${bytes} bytes, the limit (limits.maxImageBytes) is ${limits.maxImageBytes}`,
          ),
        );
      }
      head = Buffer.alloc(Math.min(bytes, 64));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    return fail(new PgError('IMAGE_CORRUPT', 'file cannot be read', { cause: err }));
  }

  const format = sniffFormat(head);
  if (format === null) return fail(new PgError('IMAGE_UNSUPPORTED', 'content is not JPEG, PNG, BMP or TIFF'));

  let width: number;
  let height: number;
  if (format === 'bmp') {
    try {
      ({ width, height } = readBmpHeader(head));
    } catch (err) {
      return fail(
        err instanceof PgError
          ? err
          : new PgError('IMAGE_CORRUPT', 'BMP header cannot be read', { cause: err }),
      );
    }
  } else {
    try {
      // sharp enforces limitInputPixels while reading the header, so a decompression bomb is refused
      // here without a single pixel being decoded.
      const meta = await sharp(path, { limitInputPixels: limits.maxImagePixels }).metadata();
      width = meta.width ?? 0;
      height = meta.height ?? 0;
    } catch (err) {
      if (/pixel limit/i.test(errorMessage(err))) {
        return fail(
          new PgError(
            'IMAGE_TOO_LARGE',
            `header claims more than ${limits.maxImagePixels} pixels (limits.maxImagePixels)`,
          ),
        );
      }
      return fail(
        new PgError('IMAGE_CORRUPT', `${format.toUpperCase()} header cannot be read`, { cause: err }),
      );
    }
  }
  if (width <= 0 || height <= 0) return fail(new PgError('IMAGE_CORRUPT', 'header has no image size'));
  if (width * height > limits.maxImagePixels) {
    return fail(
      new PgError(
        'IMAGE_TOO_LARGE',
        `${width}×${height} is more than ${limits.maxImagePixels} pixels (limits.maxImagePixels)`,
      ),
    );
  }
  return { ok: true, info: { format, width, height, bytes } };
}
