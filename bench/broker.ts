import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/sbin/mosquitto';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A real mosquitto on loopback for the benchmark, or null (then the embedded broker is used). */
export async function startBenchBroker(): Promise<{ url: string; stop(): Promise<void> } | null> {
  if (!existsSync(BIN)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'pg-bench-mq-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const asRoot = process.getuid?.() === 0 ? 'user root\n' : '';
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\n${asRoot}persistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n`,
  );
  const child: ChildProcess = spawn(BIN, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
