import { Worker } from 'node:worker_threads';
import { ERRORS, type ErrorCode, errorMessage, PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';
import type { RawDetection } from '../decode/decode.js';
import type { LetterboxTransform } from '../preprocess/geometry.js';
import type {
  FromWorker,
  JobRequest,
  ModelReady,
  ToWorker,
  WorkerInit,
  WorkerModelSpec,
} from './protocol.js';

export interface PoolOptions {
  workers: number;
  intraOpThreads: number;
  /** A job not answered in this time is taken as a hung worker: it is terminated and replaced. */
  jobTimeoutMs?: number;
  /** Jobs handed to one worker at once; 2 keeps it busy while the next image is in the post. */
  maxJobsPerWorker?: number;
  /** How long stop() lets a worker finish its jobs and release its sessions before terminating it. */
  stopGraceMs?: number;
  /** Tests substitute a worker entry (e.g. one that crashes); defaults to ./worker.ts|js beside this file. */
  workerEntry?: URL;
}

export interface PoolJob {
  model: number;
  pixels: Uint8Array<ArrayBuffer>;
  transform: LetterboxTransform;
  srcWidth: number;
  srcHeight: number;
}

export interface JobResult {
  detections: RawDetection[];
  runMs: number;
  totalMs: number;
}

export interface PoolStats {
  workers: number;
  ready: number;
  busy: number;
  queued: number;
  inFlight: number;
  crashes: number;
}

interface Pending {
  id: number;
  job: PoolJob;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  index: number;
  worker: Worker;
  state: 'starting' | 'ready' | 'closing' | 'exited';
  inflight: Map<number, Pending>;
  /** Why the pool ended the worker itself (a hung job), or the uncaught error it died of. */
  cause?: string;
  exited: Promise<void>;
}

const DEFAULTS = { jobTimeoutMs: 60_000, maxJobsPerWorker: 2, stopGraceMs: 5_000 };
const RESTART_BACKOFF_MS = [0, 1_000, 2_000, 5_000, 10_000, 30_000];

/** Rebuilds a worker's error on this side without doubling the catalogue prefix. */
function errorFromWorker(code: ErrorCode, message: string): PgError {
  const prefix = `${ERRORS[code].message}: `;
  return new PgError(code, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}

function defaultEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}

/**
 * Compiled JS (dist/) spawns worker.js directly. From TypeScript sources (vitest, `node --import tsx`)
 * the worker is TypeScript too, and Node 20 does not apply `--import tsx` from a worker's execArgv to
 * the worker's own entry, so a two-line bootstrap loads it through tsx's API instead.
 */
export function spawnWorker(entry: URL, init: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: init });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => (api.tsImport ?? api.default.tsImport)(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}));`;
  return new Worker(boot, { eval: true, workerData: init });
}

/**
 * N inference workers, each holding every model. Jobs go to the least busy ready worker, the rest
 * wait in a FIFO here. A worker that dies or hangs is replaced, and the jobs it held are rejected
 * with INFERENCE_FAILED so the caller can retry: nothing ever waits forever on a dead thread.
 */
export class InferencePool {
  private readonly opts: Required<Omit<PoolOptions, 'workerEntry'>> & { workerEntry: URL };
  private readonly slots: Array<Slot | undefined> = [];
  private readonly queue: Pending[] = [];
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly failedStarts: number[] = [];
  private state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  private nextId = 1;
  private rr = 0;
  private crashes = 0;
  private modelsReady: ModelReady[] = [];

  constructor(
    private readonly models: readonly WorkerModelSpec[],
    opts: PoolOptions,
    private readonly log: Logger,
  ) {
    this.opts = { ...DEFAULTS, ...opts, workerEntry: opts.workerEntry ?? defaultEntry() };
  }

  /** Starts every worker; resolves once each has loaded, checked and warmed up every model. */
  async start(signal?: AbortSignal): Promise<ModelReady[]> {
    if (this.state !== 'idle') {
      throw new PgError('INFERENCE_FAILED', 'inference pool can only be started once');
    }
    this.state = 'starting';
    const onAbort = (): void => void this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const starts = Array.from({ length: this.opts.workers }, (_, i) => this.startSlot(i));
      const results = await Promise.allSettled(starts);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (this.state !== 'starting' || this.slots.some((s) => s?.state !== 'ready')) {
        throw new PgError('INFERENCE_FAILED', 'inference pool stopped or lost a worker while starting');
      }
      this.state = 'running';
      return this.modelsReady;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  run(job: PoolJob): Promise<JobResult> {
    if (this.state !== 'running') {
      return Promise.reject(new PgError('INFERENCE_FAILED', 'inference pool is not running'));
    }
    if (!this.slots.some((s) => s?.state === 'ready' || s?.state === 'starting')) {
      // Every worker is down and waiting out a restart back-off: fail now rather than park the job.
      return Promise.reject(new PgError('INFERENCE_FAILED', 'no inference worker is running; restarting'));
    }
    const { pixels } = job;
    // Only a view spanning its whole buffer may be transferred; anything else would ship (and detach) more.
    const whole = pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength;
    const owned = whole ? job : { ...job, pixels: new Uint8Array(pixels) };
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job: owned, resolve, reject });
      this.pump();
    });
  }

  stats(): PoolStats {
    const live = this.slots.filter((s): s is Slot => s !== undefined);
    let inFlight = 0;
    for (const s of live) inFlight += s.inflight.size;
    return {
      workers: this.opts.workers,
      ready: live.filter((s) => s.state === 'ready').length,
      busy: live.filter((s) => s.inflight.size > 0).length,
      queued: this.queue.length,
      inFlight,
      crashes: this.crashes,
    };
  }

  /** Thread ids of the workers now alive; tests use it to prove stop() leaves none behind. */
  threadIds(): number[] {
    return this.slots
      .filter((s): s is Slot => s !== undefined && s.state !== 'exited')
      .map((s) => s.worker.threadId);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    this.rejectQueued('inference pool stopped');
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot === undefined || slot.state === 'exited') return;
        const wasStarting = slot.state === 'starting';
        slot.state = 'closing';
        // Workers finish the jobs they hold, release their sessions and end; a stuck one is cut off.
        if (wasStarting) void slot.worker.terminate();
        else slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
        const grace = setTimeout(() => void slot.worker.terminate(), this.opts.stopGraceMs);
        await slot.exited;
        clearTimeout(grace);
      }),
    );
  }

  private startSlot(index: number): Promise<void> {
    const init: WorkerInit = { models: [...this.models], intraOpThreads: this.opts.intraOpThreads };
    const worker = spawnWorker(this.opts.workerEntry, init);
    const threadId = worker.threadId; // reads -1 once the thread has exited: keep it for the crash log
    let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
    const started = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let markExited!: () => void;
    const exited = new Promise<void>((r) => {
      markExited = r;
    });
    const slot: Slot = { index, worker, state: 'starting', inflight: new Map(), exited };
    this.slots[index] = slot;

    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        if (slot.state !== 'starting') return;
        slot.state = 'ready';
        this.failedStarts[index] = 0;
        this.modelsReady = msg.models;
        this.log.debug({ worker: index, threadId, models: msg.models }, 'inference worker ready');
        settle?.resolve();
        this.pump();
      } else if (msg.type === 'init-error') {
        slot.cause = msg.message;
        settle?.reject(errorFromWorker(msg.code, msg.message));
        void worker.terminate();
      } else {
        this.settleJob(slot, msg);
      }
    });
    worker.on('error', (err) => {
      slot.cause = errorMessage(err);
    });
    worker.on('exit', (code) => {
      const was = slot.state;
      slot.state = 'exited';
      markExited();
      // Settles start() whatever ended the worker; a no-op once it resolved or got its init-error.
      settle?.reject(
        new PgError(
          'MODEL_LOAD',
          `inference worker ended while starting (exit ${code}): ${slot.cause ?? 'no reason given'}`,
        ),
      );
      if (was === 'starting') {
        this.onSlotDown(slot, false);
      } else if (was === 'closing') {
        this.failInflight(slot, 'inference pool stopped');
      } else {
        this.crashes++;
        const reason = `inference worker crashed (exit ${code}): ${slot.cause ?? 'no reason given'}`;
        this.log.error(
          { worker: index, threadId, exitCode: code, reason: slot.cause },
          'inference worker crashed; replacing it',
        );
        this.failInflight(slot, reason);
        this.onSlotDown(slot, true);
      }
    });
    return started;
  }

  /** After a crash (or a failed restart) the slot is refilled, backing off while restarts keep failing. */
  private onSlotDown(slot: Slot, crashedAfterStart: boolean): void {
    if (this.state !== 'running') return;
    const i = slot.index;
    const failures = crashedAfterStart ? 0 : (this.failedStarts[i] ?? 0) + 1;
    this.failedStarts[i] = failures;
    if (!crashedAfterStart && !this.slots.some((s) => s?.state === 'ready')) {
      // No worker can serve the queue until a restart succeeds: fail it now rather than let it hang.
      this.rejectQueued(`no inference worker is running: ${slot.cause ?? 'restart failed'}`);
    }
    const restart = (): void => {
      this.startSlot(i).catch((err: unknown) => {
        if (this.state !== 'running') return;
        this.log.error({ worker: i, err: errorMessage(err) }, 'inference worker restart failed');
      });
    };
    const delay = RESTART_BACKOFF_MS[Math.min(failures, RESTART_BACKOFF_MS.length - 1)] as number;
    // After a crash the slot is refilled at once, so jobs arriving meanwhile queue for it.
    if (delay === 0) {
      restart();
      return;
    }
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.state === 'running') restart();
    }, delay);
    this.restartTimers.add(timer);
  }

  private settleJob(slot: Slot, msg: Extract<FromWorker, { type: 'result' | 'job-error' }>): void {
    const p = slot.inflight.get(msg.id);
    if (p === undefined) return;
    slot.inflight.delete(msg.id);
    if (p.timer) clearTimeout(p.timer);
    if (msg.type === 'result') {
      p.resolve({ detections: msg.detections, runMs: msg.runMs, totalMs: msg.totalMs });
    } else {
      const model = this.models[p.job.model]?.name;
      p.reject(new PgError('INFERENCE_FAILED', `model "${model}": ${msg.message}`));
    }
    this.pump();
  }

  private failInflight(slot: Slot, reason: string): void {
    for (const p of slot.inflight.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new PgError('INFERENCE_FAILED', reason));
    }
    slot.inflight.clear();
  }

  private rejectQueued(reason: string): void {
    for (const p of this.queue.splice(0)) p.reject(new PgError('INFERENCE_FAILED', reason));
  }

  /** Least-busy dispatch; the round-robin start spreads equal loads over every worker. */
  private pump(): void {
    while (this.queue.length > 0 && this.state === 'running') {
      let best: Slot | undefined;
      const n = this.slots.length;
      for (let k = 0; k < n; k++) {
        const s = this.slots[(this.rr + k) % n];
        if (s?.state !== 'ready' || s.inflight.size >= this.opts.maxJobsPerWorker) continue;
        if (best === undefined || s.inflight.size < best.inflight.size) best = s;
      }
      if (best === undefined) return;
      this.rr = (best.index + 1) % n;
      this.dispatch(best, this.queue.shift() as Pending);
    }
  }

  private dispatch(slot: Slot, p: Pending): void {
    const msg: JobRequest = {
      type: 'job',
      id: p.id,
      model: p.job.model,
      pixels: p.job.pixels.buffer,
      transform: p.job.transform,
      srcWidth: p.job.srcWidth,
      srcHeight: p.job.srcHeight,
    };
    slot.inflight.set(p.id, p);
    p.timer = setTimeout(() => {
      slot.cause = `a job took longer than ${this.opts.jobTimeoutMs} ms`;
      this.log.error(
        { worker: slot.index, threadId: slot.worker.threadId },
        'inference job timed out; terminating the worker',
      );
      void slot.worker.terminate();
    }, this.opts.jobTimeoutMs);
    slot.worker.postMessage(msg, [msg.pixels]);
  }
}
