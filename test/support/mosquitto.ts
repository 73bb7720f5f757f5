import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** Why mosquitto tests cannot run here, or null when they can. */
export const mosquittoSkipReason: string | null = existsSync(MOSQUITTO_BIN)
  ? null
  : `${MOSQUITTO_BIN} not found (apt-get install mosquitto)`;

/** `describe` that is skipped, with the reason in its name, when mosquitto is not installed. */
export function describeWithMosquitto(name: string, fn: () => void): void {
  const title = mosquittoSkipReason ? `${name} (skipped: ${mosquittoSkipReason})` : name;
  describe.skipIf(mosquittoSkipReason !== null)(title, fn);
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  running(): boolean;
  /** SIGTERM and wait: mosquitto saves its persistence file on the way out. */
  stop(): Promise<void>;
  /** SIGKILL and wait: no save, like a power cut. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same persistence directory. */
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing is answered (a hung broker). */
  pause(): void;
  resume(): void;
  /** Last lines of mosquitto's own log, for failure messages. */
  output(): string;
  /** Kills the broker if running and removes the temp directory. Idempotent. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Last resort if a test file crashes before its afterAll: never leave a broker behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a real mosquitto on 127.0.0.1 on a free port and waits until it accepts connections. */
export async function startMosquitto(opts: { port?: number } = {}): Promise<Mosquitto> {
  if (mosquittoSkipReason) throw new Error(mosquittoSkipReason);
  const dir = mkdtempSync(join(tmpdir(), 'pg-mosquitto-'));
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | null = null;
  let log = '';

  const writeConfig = () => {
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_on_changes true',
      'autosave_interval 1',
      'max_queued_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
    ];
    // As root, mosquitto otherwise drops to the `mosquitto` user, which cannot write the temp dir.
    if (process.getuid?.() === 0) lines.push('user root');
    writeFileSync(join(dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  };

  const launch = async (): Promise<void> => {
    const proc = spawn(MOSQUITTO_BIN, ['-c', join(dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`mosquitto exited during start (code ${proc.exitCode}):\n${log}`);
      }
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`mosquitto did not accept connections on port ${port} within 10 s:\n${log}`);
  };

  const signalAndWait = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    // A paused broker acts on SIGTERM only once continued. Sent first, the signal is pending when it
    // wakes and is handled before its loop reads what queued up while it was paused; continued first,
    // it could still acknowledge those publishes on its way out (a test that stops a hung broker
    // mid-window then sees no publish fail).
    if (sig === 'SIGTERM') proc.kill('SIGCONT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited(proc);
    clearTimeout(timer);
  };

  writeConfig();
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      // Another process may grab the free port between the probe and mosquitto's bind.
      if (opts.port !== undefined || attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
      writeConfig();
    }
  }

  let cleaned = false;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    restart: async () => {
      await signalAndWait('SIGTERM');
      await launch();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    output: () => log,
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      await signalAndWait('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers beforeAll/afterAll for one broker per describe block; call at describe level. The getter
 * throws if used before beforeAll ran.
 */
export function useMosquitto(): () => Mosquitto {
  let broker: Mosquitto | null = null;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });
  return () => {
    if (!broker) throw new Error('mosquitto not started (useMosquitto must be called inside describe)');
    return broker;
  };
}
