import { afterEach, describe, expect, it, vi } from 'vitest';
import { modelSchema } from '../../../config/schema.js';
import { createLogger } from '../../../config/shared/log.js';
import { InferencePool, type PoolJob, type PoolOptions } from '../../../models/onnx/pool.js';
import { toWorkerSpec } from '../../../models/onnx/protocol.js';

const FAKE = new URL('./fake-worker.ts', import.meta.url);
const log = createLogger({ level: 'silent' });

const spec = (name: string) =>
  toWorkerSpec(
    modelSchema.parse({
      name,
      version: '1',
      path: '/nonexistent.onnx',
      input: { width: 32, height: 32 },
      output: 'yolov8',
      labels: [{ name: 'knife', category: 'prohibited' }],
    }),
  );

const BEHAVIOURS = ['echo', 'slow', 'crash', 'throw', 'hang', 'fail'] as const;
const model = (b: (typeof BEHAVIOURS)[number]): number => BEHAVIOURS.indexOf(b);

const job = (m: number): PoolJob => ({
  model: m,
  pixels: new Uint8Array(32 * 32 * 3),
  transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0 },
  srcWidth: 32,
  srcHeight: 32,
});

/** Result or error, observed at once so a rejection during stop() is never reported as unhandled. */
const settled = <T>(p: Promise<T>): Promise<T | Error> => p.catch((e: unknown) => e as Error);

const pools: InferencePool[] = [];
function pool(names: readonly string[], opts: Partial<PoolOptions> = {}): InferencePool {
  const p = new InferencePool(
    names.map(spec),
    { workers: 1, intraOpThreads: 1, workerEntry: FAKE, ...opts },
    log,
  );
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

describe('InferencePool', () => {
  it('transfers the pixel buffer to the worker instead of copying it', async () => {
    const p = pool(BEHAVIOURS);
    await p.start();
    const j = job(model('echo'));
    const pending = p.run(j);
    expect(j.pixels.byteLength).toBe(0); // detached: the worker owns it now
    const r = await pending;
    expect(r.detections[0]?.score).toBe(32 * 32 * 3);
  });

  it('spreads jobs over the workers and queues the rest', async () => {
    const p = pool(BEHAVIOURS, { workers: 2, maxJobsPerWorker: 1 });
    await p.start();
    const jobs = Array.from({ length: 5 }, () => p.run(job(model('slow'))));
    expect(p.stats()).toMatchObject({ workers: 2, ready: 2, busy: 2, inFlight: 2, queued: 3 });
    await Promise.all(jobs);
    expect(p.stats()).toMatchObject({ busy: 0, inFlight: 0, queued: 0 });
  });

  it('rejects the jobs of a crashed worker with INFERENCE_FAILED, replaces it, and keeps serving', async () => {
    const p = pool(BEHAVIOURS);
    await p.start();
    const before = p.threadIds();
    const slow = p.run(job(model('slow')));
    const crash = p.run(job(model('crash')));
    await expect(slow).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringMatching(/crashed \(exit 3\)/),
    });
    await expect(crash).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    // Queued behind the crash: served by the replacement.
    const r = await p.run(job(model('echo')));
    expect(r.detections).toHaveLength(1);
    expect(p.stats().crashes).toBe(1);
    expect(p.threadIds()).not.toEqual(before);
  });

  it('fails queued jobs at once when no replacement worker can start, and recovers when one can', async () => {
    const p = pool(BEHAVIOURS);
    await p.start();
    process.env.PG_FAKE_WORKER_INIT_FAIL = '1';
    try {
      const crash = settled(p.run(job(model('crash'))));
      expect(await crash).toMatchObject({ code: 'INFERENCE_FAILED' });
      // Queued for the replacement, which fails to start: rejected, not left waiting.
      expect(await settled(p.run(job(model('echo'))))).toMatchObject({
        code: 'INFERENCE_FAILED',
        message: expect.stringContaining('no inference worker is running'),
      });
      // While the slot waits out its back-off, new jobs fail fast too.
      expect(await settled(p.run(job(model('echo'))))).toMatchObject({ code: 'INFERENCE_FAILED' });
    } finally {
      delete process.env.PG_FAKE_WORKER_INIT_FAIL;
    }
    await vi.waitFor(() => expect(p.stats().ready).toBe(1), { timeout: 3_000, interval: 50 });
    await expect(p.run(job(model('echo')))).resolves.toBeDefined();
  });

  it('reports the error an uncaught exception killed the worker with', async () => {
    const p = pool(BEHAVIOURS);
    await p.start();
    await expect(p.run(job(model('throw')))).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('fake runtime fault'),
    });
    await expect(p.run(job(model('echo')))).resolves.toBeDefined();
  });

  it('terminates and replaces a worker whose job hangs', async () => {
    const p = pool(BEHAVIOURS, { jobTimeoutMs: 300 });
    await p.start();
    await expect(p.run(job(model('hang')))).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('longer than 300 ms'),
    });
    await expect(p.run(job(model('echo')))).resolves.toBeDefined();
  });

  it('turns a job error into INFERENCE_FAILED naming the model, and the worker lives on', async () => {
    const p = pool(BEHAVIOURS);
    await p.start();
    await expect(p.run(job(model('fail')))).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('model "fail": fake failure in fail'),
    });
    expect(p.stats().crashes).toBe(0);
  });

  it('fails start with the code the worker reported, leaving no worker behind', async () => {
    const p = pool(['echo', 'init-fail'], { workers: 2 });
    const err = await p.start().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'MODEL_SHAPE',
      message: 'model inputs/outputs do not match the configuration: fake mismatch',
    });
    expect(p.threadIds()).toEqual([]);
  });

  it('fails start when a worker dies while starting', async () => {
    const p = pool(['init-crash']);
    await expect(p.start()).rejects.toMatchObject({
      code: 'MODEL_LOAD',
      message: expect.stringContaining('exit 2'),
    });
    expect(p.threadIds()).toEqual([]);
  });

  it('stop() lets jobs in progress finish, rejects queued ones and ends every worker', async () => {
    const p = pool(BEHAVIOURS, { workers: 2, maxJobsPerWorker: 1 });
    await p.start();
    expect(p.threadIds()).toHaveLength(2);
    const running = [settled(p.run(job(model('slow')))), settled(p.run(job(model('slow'))))];
    const queued = settled(p.run(job(model('echo'))));
    await p.stop();
    expect(await Promise.all(running)).toEqual([
      expect.objectContaining({ runMs: 1 }),
      expect.objectContaining({ runMs: 1 }),
    ]);
    expect(await queued).toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('stopped'),
    });
    expect(p.threadIds()).toEqual([]);
    await expect(p.run(job(model('echo')))).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
  });

  it('stop() cuts off a worker that does not finish within the grace period', async () => {
    const p = pool(BEHAVIOURS, { stopGraceMs: 200 });
    await p.start();
    const hung = settled(p.run(job(model('hang'))));
    const t = performance.now();
    await p.stop();
    expect(performance.now() - t).toBeLessThan(2_000);
    expect(await hung).toMatchObject({ code: 'INFERENCE_FAILED' });
    expect(p.threadIds()).toEqual([]);
  });
});
