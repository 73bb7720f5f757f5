import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll } from 'vitest';
import type { RtspReaderOptions, VideoFrame } from '../../../adapters/rtsp/reader.js';
import type { StreamStatus } from '../../../adapters/rtsp/stream-status.js';
import { createLogger, type Logger } from '../../../config/shared/log.js';

/** Small and slow on purpose: the suite shares a 2-core box with other work. */
export const TEST_STREAM = { fps: 5, width: 160, height: 120 } as const;
export const FRAME_BYTES = TEST_STREAM.width * TEST_STREAM.height * 3;

/** Reader options tuned for tests: short timeouts and backoff so failures are seen within seconds. */
export function readerOptions(
  over: Partial<RtspReaderOptions> & Pick<RtspReaderOptions, 'id' | 'url' | 'log'>,
): RtspReaderOptions {
  return {
    ...TEST_STREAM,
    timeoutMs: 1500,
    startupMs: 12_000,
    backoff: { initialMs: 150, maxMs: 600, jitter: 0.1 },
    killGraceMs: 500,
    fpsWindowMs: 2000,
    ...over,
  };
}

/** A logger whose lines are kept (as raw text and parsed) for assertions. */
export function captureLog(level = 'debug'): {
  log: Logger;
  text: () => string;
  lines: () => Array<Record<string, unknown>>;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log: createLogger({ level, destination }), text, lines };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

/** Records every status a reader publishes and every frame it delivers. */
export function record(): {
  statuses: StreamStatus[];
  frames: VideoFrame[];
  onStatus: (s: StreamStatus) => void;
  onFrame: (f: VideoFrame) => void;
} {
  const statuses: StreamStatus[] = [];
  const frames: VideoFrame[] = [];
  return {
    statuses,
    frames,
    onStatus: (s) => statuses.push(s),
    onFrame: (f) => {
      frames.push(f);
    },
  };
}

/** Whether a process id is still alive (signal 0 probes without touching it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: gone (EPERM cannot happen for our own children)
  }
}

/**
 * Executable stand-ins for ffmpeg (shell scripts that ignore their arguments), to drive the
 * supervisor through exits, garbage and stalls without a camera. Removed after the file's tests.
 */
export function fakeFfmpegDir(): (name: string, script: string) => string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-fake-ffmpeg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name, script) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  };
}
