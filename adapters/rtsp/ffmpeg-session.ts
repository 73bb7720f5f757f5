/**
 * One ffmpeg process reading one stream: spawned directly with an argument array (never a shell), its
 * stdout cut into frames, its stderr kept scrubbed, and a way to end it that never leaves it behind:
 * SIGTERM, then SIGKILL after a grace. Every live process is also SIGKILLed when Node exits, so a
 * crashed test or gateway does not leave readers pulling video. (If Node itself is SIGKILLed, ffmpeg
 * dies on its next write to the broken stdout pipe.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ChildGroup } from './child-group.js';
import type { ExitFacts, StreamFault } from './faults.js';
import { scrub } from './faults.js';
import { FrameAssembler } from './frame-assembler.js';

const readers = new ChildGroup();

/** ffmpeg processes of this Node process still running (for tests and diagnostics). */
export function liveFfmpegPids(): number[] {
  return readers.pids();
}

export interface SessionOptions {
  ffmpegPath: string;
  args: readonly string[];
  frameBytes: number;
  /** Strings scrubbed from every stderr line (URL credentials). */
  secrets: readonly string[];
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs: number;
  onFrame(frame: Buffer): void;
}

export interface SessionEnd extends ExitFacts {
  /** Set when ffmpeg could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | null;
  /** Set when the supervisor ended the process on purpose (stall, garbage, stop). */
  fault: StreamFault | null;
  startedAt: number;
}

const STDERR_TAIL = 8;
const MAX_LINE = 2000;

export class FfmpegSession {
  readonly startedAt = Date.now();
  readonly ended: Promise<SessionEnd>;
  private readonly child: ChildProcess;
  private readonly assembler: FrameAssembler;
  private readonly tail: string[] = [];
  private readonly errorTimes: number[] = [];
  private partialLine = '';
  private timedOut = false;
  private fault: StreamFault | null = null;
  private spawnError: NodeJS.ErrnoException | null = null;
  private exited = false;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: SessionOptions) {
    this.assembler = new FrameAssembler(o.frameBytes, o.onFrame);
    this.child = spawn(o.ffmpegPath, [...o.args], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    readers.track(this.child);
    this.child.stdout?.on('data', (chunk: Buffer) => this.assembler.push(chunk));
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => this.onStderr(text));
    // A pipe error (the process vanished mid-write) surfaces as 'close' below; keep it from being unhandled.
    this.child.stdout?.on('error', (err) => this.note(`stdout: ${err.message}`));
    this.child.stderr?.on('error', (err) => this.note(`stderr: ${err.message}`));
    this.ended = new Promise((resolve) => {
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
        if (this.exited) return;
        this.exited = true;
        readers.forget(this.child);
        if (this.killTimer) clearTimeout(this.killTimer);
        if (this.partialLine) this.keep(this.partialLine);
        resolve({
          exitCode,
          signal,
          stderr: [...this.tail],
          frames: this.assembler.frames,
          pendingBytes: this.assembler.pendingBytes,
          spawnError: this.spawnError,
          fault: this.fault,
          startedAt: this.startedAt,
        });
      };
      this.child.once('error', (err: NodeJS.ErrnoException) => {
        this.spawnError = err;
        // Without a pid nothing was started and no 'close' may follow.
        if (this.child.pid === undefined) finish(null, null);
      });
      this.child.once('close', (code, signal) => finish(code, signal));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get frames(): number {
    return this.assembler.frames;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** True once end() was called or the process exited: its output no longer counts. */
  get ending(): boolean {
    return this.exited || this.killTimer !== null;
  }

  /** ffmpeg said a socket read timed out (it may carry on and retry, but the camera went quiet). */
  get socketTimedOut(): boolean {
    return this.timedOut;
  }

  /** stderr lines (all are errors at `-loglevel error`) received since `t`. */
  errorLinesSince(t: number): number {
    while (this.errorTimes.length > 0 && (this.errorTimes[0] ?? 0) < t) this.errorTimes.shift();
    return this.errorTimes.length;
  }

  /**
   * Ends the process: SIGTERM, SIGKILL after the grace. The first fault given is the one reported,
   * so a stall that led to the kill is not overwritten by what ffmpeg says while dying.
   */
  end(fault: StreamFault | null): Promise<SessionEnd> {
    if (fault && !this.fault) this.fault = fault;
    if (!this.exited && this.killTimer === null) {
      this.child.kill('SIGTERM');
      this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.o.killGraceMs);
    }
    return this.ended;
  }

  private onStderr(text: string): void {
    const lines = (this.partialLine + text).split(/\r?\n|\r/);
    this.partialLine = (lines.pop() ?? '').slice(-MAX_LINE);
    const now = Date.now();
    for (const line of lines) {
      if (!line.trim()) continue;
      // "Last message repeated N times" repeats a counted line; it is not a new error.
      if (!/^\s*Last message repeated/.test(line)) this.errorTimes.push(now);
      if (/timed out/i.test(line)) this.timedOut = true;
      this.keep(line);
    }
    if (this.errorTimes.length > 10_000) this.errorTimes.splice(0, 5_000);
  }

  private keep(line: string): void {
    this.tail.push(scrub(line, this.o.secrets));
    if (this.tail.length > STDERR_TAIL) this.tail.shift();
  }

  private note(message: string): void {
    this.keep(message);
  }
}
