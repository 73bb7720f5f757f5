/**
 * Serves a video file (the scrolling X-ray display of ./scrolling-xray.ts) over real RTSP: Debian's
 * GStreamer RTSP server run by /usr/bin/python3 on a free loopback port, streaming the file's H.264 as
 * is, in real time, from its first frame for every client. At the end of the file the session ends.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYSTEM_PYTHON } from './system-python.js';

const SCRIPT = fileURLToPath(new URL('./scrolling-xray-server.py', import.meta.url));

function probeSkipReason(): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found (apt-get install python3)`;
  const gst = spawnSync(SYSTEM_PYTHON, [SCRIPT, '--check'], { encoding: 'utf8', timeout: 20_000 });
  if (gst.status !== 0) {
    const why = (gst.stderr || gst.error?.message || '').trim().split('\n').pop() ?? '';
    return `GStreamer RTSP server unusable (apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad): ${why}`;
  }
  const ff = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 10_000 });
  if (ff.status !== 0) return 'ffmpeg not found on PATH (apt-get install ffmpeg)';
  if (!ff.stdout.includes('libx264')) return 'ffmpeg has no libx264 encoder';
  return null;
}

/** Why a scrolling display cannot be served here, or null when it can. Probed once per test file. */
export const scrollingXraySkipReason: string | null = probeSkipReason();

export interface FileRtspServer {
  readonly port: number;
  /** rtsp://127.0.0.1:PORT/xray */
  readonly url: string;
  /** Last lines of the server's output, for failure messages. */
  output(): string;
  /** SIGTERM, SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Last resort if a test file crashes before its afterAll: never leave a server behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startFileRtspServer(file: string): Promise<FileRtspServer> {
  if (scrollingXraySkipReason) throw new Error(scrollingXraySkipReason);
  const proc = spawn(SYSTEM_PYTHON, [SCRIPT, '--port', '0', '--file', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      live.delete(proc);
      resolve();
    });
  });
  let log = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`RTSP server did not start within 15 s:\n${log}`));
    }, 15_000);
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\d+)/.exec(out);
      if (!m?.[1]) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP server exited during start (code ${code}):\n${log}`));
    });
  });
  let stopping: Promise<void> | null = null;
  return {
    port,
    url: `rtsp://127.0.0.1:${port}/xray`,
    output: () => log,
    stop: () => {
      stopping ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
