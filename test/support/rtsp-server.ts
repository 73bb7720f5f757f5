/**
 * A real RTSP server for the stream reader tests: Debian's GStreamer RTSP server (run by
 * /usr/bin/python3, the only interpreter with python3-gi) on a free loopback port, serving live H.264
 * and MJPEG test pictures. It can be killed, stopped (SIGSTOP: the socket stays open, nothing is
 * answered) and restarted on the same port, so tests can take a camera away and give it back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe } from 'vitest';
import { SYSTEM_PYTHON } from './system-python.js';

const SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));

function probeSkipReason(): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found (apt-get install python3)`;
  const gst = spawnSync(SYSTEM_PYTHON, [SCRIPT, '--check'], { encoding: 'utf8', timeout: 20_000 });
  if (gst.status !== 0) {
    const why = (gst.stderr || gst.error?.message || '').trim().split('\n').pop() ?? '';
    return `GStreamer RTSP server unusable (apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly gstreamer1.0-plugins-good): ${why}`;
  }
  const ff = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (ff.status !== 0) return 'ffmpeg not found on PATH (apt-get install ffmpeg)';
  return null;
}

/** Why the RTSP tests cannot run here, or null when they can. Probed once per test file. */
export const rtspSkipReason: string | null = probeSkipReason();

/** `describe` that is skipped, with the reason in its name, when the server or ffmpeg is missing. */
export function describeWithRtsp(name: string, fn: () => void): void {
  const title = rtspSkipReason ? `${name} (skipped: ${rtspSkipReason})` : name;
  describe.skipIf(rtspSkipReason !== null)(title, fn);
}

export type RtspPath = 'h264' | 'mjpeg' | 'black';

export interface RtspServerOptions {
  port?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** One encoder per mount for all clients (benchmarks); default one per client. */
  shared?: boolean;
  /** Every mount requires Basic authentication with these. */
  auth?: { username: string; password: string };
}

export interface RtspTestServer {
  readonly port: number;
  /** rtsp://127.0.0.1:PORT/PATH, with `user:password@` (percent-encoded) when credentials are given. */
  url(path: RtspPath, credentials?: { username: string; password: string }): string;
  running(): boolean;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: the camera loses power. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing moves (a hung camera). */
  pause(): void;
  resume(): void;
  /** Starts again on the same port (after stop/kill; stops a running one first). */
  restart(): Promise<void>;
  /** Last lines of the server's own output, for failure messages. */
  output(): string;
  /** Kills the server if running. Idempotent. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Last resort if a test file crashes before its afterAll: never leave a server behind.
process.once('exit', () => {
  for (const child of live) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRtspServer(opts: RtspServerOptions = {}): Promise<RtspTestServer> {
  if (rtspSkipReason) throw new Error(rtspSkipReason);
  let port = opts.port ?? 0;
  let child: ChildProcess | null = null;
  let log = '';

  const launch = (): Promise<void> => {
    const args = [SCRIPT, '--port', String(port)];
    args.push('--width', String(opts.width ?? 320), '--height', String(opts.height ?? 240));
    args.push('--fps', String(opts.fps ?? 10));
    if (opts.auth) args.push('--auth', `${opts.auth.username}:${opts.auth.password}`);
    if (opts.shared) args.push('--shared');
    const proc = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    proc.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
    });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`RTSP server did not start within 15 s:\n${log}`));
      }, 15_000);
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /READY (\d+)/.exec(out);
        if (!m?.[1]) return;
        clearTimeout(timer);
        port = Number(m[1]);
        resolve();
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP server exited during start (code ${code}):\n${log}`));
      });
    });
  };

  const signalAndWait = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT'); // a stopped process acts on no signal but SIGKILL
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited(proc);
    clearTimeout(timer);
  };

  await launch();
  let cleaned = false;
  return {
    get port() {
      return port;
    },
    url: (path, credentials) => {
      const auth = credentials
        ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@`
        : '';
      return `rtsp://${auth}127.0.0.1:${port}/${path}`;
    },
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    restart: async () => {
      await signalAndWait('SIGTERM');
      await launch();
    },
    output: () => log,
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      await signalAndWait('SIGKILL');
    },
  };
}

/**
 * Registers beforeAll/afterAll for one server per describe block; call at describe level. The getter
 * throws if used before beforeAll ran.
 */
export function useRtspServer(opts: RtspServerOptions = {}): () => RtspTestServer {
  let server: RtspTestServer | null = null;
  beforeAll(async () => {
    server = await startRtspServer(opts);
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  return () => {
    if (!server) throw new Error('RTSP server not started (useRtspServer must be called inside describe)');
    return server;
  };
}
