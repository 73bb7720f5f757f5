import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * File helpers for the X-ray adapters. Paths may be Buffers: a machine can write a name that is not
 * valid UTF-8, and only the raw bytes reach that file (a decoded string with U+FFFD does not).
 */
export type FsPath = string | Buffer;

// O_NOFOLLOW: a symlink planted in the folder must not make us read another file. O_NONBLOCK: opening
// a FIFO must not hang the adapter; the caller's isFile() test then refuses it. 0 where unknown.
export const SAFE_OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * Rename where the filesystem allows it. A hot folder on a network share or another mount than the
 * data directory fails with EXDEV, so it falls back to copy-then-unlink (COPYFILE_EXCL: never clobber).
 */
export async function moveFile(from: FsPath, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await rename(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'EXDEV') throw err;
    const st = await lstat(from);
    if (!st.isFile()) throw err;
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await unlink(from);
  }
}

/** Idempotent: a file already gone is what the caller wanted. */
export async function removeFile(path: FsPath): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The name as a string, or null when its bytes are not valid UTF-8 (such a name is hostile by definition). */
export function decodeName(raw: Buffer): string | null {
  try {
    return utf8.decode(raw);
  } catch (err) {
    // TextDecoder in fatal mode throws exactly for invalid byte sequences; that is the answer, not a failure.
    if (err instanceof TypeError) return null;
    throw err;
  }
}

/** Extension (with dot, lower case) of a file name, or '' when it has none. */
export function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}

/** File name without its last extension. */
export function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
