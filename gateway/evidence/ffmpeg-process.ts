/**
 * ffmpeg as the evidence code runs it: spawned straight from an argument list (never a shell, so a URL
 * full of `&` or quotes is one argument), stdout cut into lines with the time each line arrived, stderr
 * kept as a short tail scrubbed of URL credentials, and an end that never leaves a process behind:
 * SIGTERM, then SIGKILL after a grace. Processes still running when Node exits are SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ChildGroup } from '../../adapters/rtsp/child-group.js';
import { scrub } from '../../adapters/rtsp/faults.js';

const evidence = new ChildGroup();

/** Evidence ffmpeg processes of this Node process still running (tests, diagnostics). */
export function liveEvidencePids(): number[] {
  return evidence.pids();
}

export interface ProcessEnd {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Last stderr lines, scrubbed. */
  stderr: string[];
  /** Set when the process could not be started (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | null;
  /** end() was called: the exit was asked for. */
  ended: boolean;
}

export interface FfmpegProcessOptions {
  ffmpegPath: string;
  args: readonly string[];
  /** Strings removed from every kept stderr line (URL credentials). */
  secrets?: readonly string[];
  killGraceMs?: number;
  /** Each complete stdout line with the epoch ms it arrived at. */
  onLine?(line: string, at: number): void;
}

const TAIL = 8;
const MAX_LINE = 4000;

export class FfmpegProcess {
  readonly startedAt = Date.now();
  readonly ended: Promise<ProcessEnd>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private out = '';
  private err = '';
  private exited = false;
  private asked = false;
  private killTimer: NodeJS.Timeout | null = null;
  private spawnError: NodeJS.ErrnoException | null = null;

  constructor(private readonly o: FfmpegProcessOptions) {
    this.child = spawn(o.ffmpegPath, [...o.args], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    evidence.track(this.child);
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (text: string) => this.onStdout(text));
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => this.onStderr(text));
    // A pipe error means the process vanished mid-write; 'close' reports the exit itself.
    this.child.stdout?.on('error', (e) => this.keep(`stdout: ${e.message}`));
    this.child.stderr?.on('error', (e) => this.keep(`stderr: ${e.message}`));
    this.ended = new Promise((resolve) => {
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exited) return;
        this.exited = true;
        evidence.forget(this.child);
        if (this.killTimer) clearTimeout(this.killTimer);
        if (this.out) this.emitLine(this.out);
        if (this.err.trim()) this.keep(this.err);
        resolve({
          exitCode,
          signal,
          stderr: [...this.tail],
          spawnError: this.spawnError,
          ended: this.asked,
        });
      };
      this.child.once('error', (e: NodeJS.ErrnoException) => {
        this.spawnError = e;
        // Without a pid nothing was started and no 'close' follows.
        if (this.child.pid === undefined) finish(null, null);
      });
      this.child.once('close', (code, signal) => finish(code, signal));
    });
  }

  get running(): boolean {
    return !this.exited;
  }

  /** True once end() was called or the process exited. */
  get ending(): boolean {
    return this.exited || this.asked;
  }

  /** SIGTERM (ffmpeg then closes its outputs properly), SIGKILL after the grace. */
  end(): Promise<ProcessEnd> {
    if (!this.exited && !this.asked) {
      this.asked = true;
      this.child.kill('SIGTERM');
      this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.o.killGraceMs ?? 2000);
    }
    return this.ended;
  }

  private onStdout(text: string): void {
    const lines = (this.out + text).split('\n');
    this.out = (lines.pop() ?? '').slice(-MAX_LINE);
    for (const line of lines) this.emitLine(line);
  }

  private emitLine(line: string): void {
    const l = line.replace(/\r$/, '');
    if (l) this.o.onLine?.(l, Date.now());
  }

  private onStderr(text: string): void {
    const lines = (this.err + text).split(/\r?\n|\r/);
    this.err = (lines.pop() ?? '').slice(-MAX_LINE);
    for (const line of lines) if (line.trim()) this.keep(line);
  }

  private keep(line: string): void {
    this.tail.push(scrub(line, this.o.secrets ?? []));
    if (this.tail.length > TAIL) this.tail.shift();
  }
}

/**
 * Runs a short ffmpeg job (a cut, a snapshot) to completion. Throws with ffmpeg's last words when it
 * fails or outlives `timeoutMs`; the process is gone either way when this settles.
 */
export async function runFfmpeg(
  ffmpegPath: string,
  args: readonly string[],
  timeoutMs: number,
  onLine?: (line: string) => void,
): Promise<void> {
  const p = new FfmpegProcess({ ffmpegPath, args, killGraceMs: 1000, onLine });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void p.end();
  }, timeoutMs);
  const end = await p.ended.finally(() => clearTimeout(timer));
  if (end.spawnError) throw new Error(`ffmpeg cannot be started (${end.spawnError.code ?? 'error'})`);
  if (timedOut) throw new Error(`ffmpeg took longer than ${timeoutMs} ms`);
  if (end.exitCode !== 0) {
    const why = end.stderr.slice(-2).join(' / ') || `signal ${end.signal ?? 'none'}`;
    throw new Error(`ffmpeg exited with code ${end.exitCode}: ${why}`);
  }
}
