import type { ModelConfig } from '../config/schema.js';
import { PgError } from '../config/shared/errors.js';
import type { Component } from '../config/shared/lifecycle.js';
import { componentLogger, type Logger } from '../config/shared/log.js';
import type { Detection } from '../config/shared/types.js';
import { InferencePool, type PoolOptions } from './onnx/pool.js';
import { toWorkerSpec } from './onnx/protocol.js';
import {
  assertDecodedImage,
  type DecodedImage,
  type Letterboxed,
  letterbox,
} from './preprocess/letterbox.js';

export type { DecodedImage } from './preprocess/letterbox.js';

export interface ModelStats {
  name: string;
  version: string;
  /** Completed inferences since start. */
  inferences: number;
  failures: number;
  /** Last inference in its worker: tensor conversion + session.run + decoding, in ms. */
  lastMs: number | null;
  /** Last session.run alone, in ms. */
  lastRunMs: number | null;
}

export interface DetectorStats {
  models: ModelStats[];
  workers: number;
  /** Workers up and serving (fewer than `workers` while one is being replaced). */
  readyWorkers: number;
  /** Jobs (one per image and model) waiting for a free worker. */
  queued: number;
  inFlight: number;
  workerCrashes: number;
}

/** Runs object detectors on decoded images. Implementations own their threads; callers only await. */
export interface Detector extends Component {
  /**
   * Runs the named models on one image (one view of a scan). Detections are in source-image pixels,
   * clipped to the image, filtered by each label's threshold, labelled with name and category.
   * Rejects with MODEL_UNKNOWN for an unconfigured model, INFERENCE_FAILED otherwise.
   */
  detect(image: DecodedImage, view: string, modelNames: readonly string[]): Promise<Detection[]>;
  modelInfo(): Array<{ name: string; version: string }>;
  stats(): DetectorStats;
}

export interface OnnxDetectorOptions extends Pick<PoolOptions, 'jobTimeoutMs' | 'workerEntry'> {
  workers: number;
  intraOpThreads: number;
}

interface Entry {
  index: number;
  config: ModelConfig;
  stats: ModelStats;
}

class OnnxDetector implements Detector {
  readonly name = 'detector';
  private readonly pool: InferencePool;
  private readonly byName = new Map<string, Entry>();
  private running = false;

  constructor(
    private readonly models: readonly ModelConfig[],
    opts: OnnxDetectorOptions,
    private readonly log: Logger,
  ) {
    models.forEach((config, index) => {
      const stats: ModelStats = {
        name: config.name,
        version: config.version,
        inferences: 0,
        failures: 0,
        lastMs: null,
        lastRunMs: null,
      };
      this.byName.set(config.name, { index, config, stats });
    });
    this.pool = new InferencePool(models.map(toWorkerSpec), opts, log);
  }

  async start(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const ready = await this.pool.start(signal);
    this.running = true;
    this.log.info(
      {
        workers: this.pool.stats().workers,
        models: ready.map((r) => ({ name: r.name, warmupMs: Math.round(r.warmupMs) })),
        ms: Math.round(performance.now() - started),
      },
      'detector ready',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.pool.stop();
  }

  async detect(image: DecodedImage, view: string, modelNames: readonly string[]): Promise<Detection[]> {
    const entries = [...new Set(modelNames)].map((name) => {
      const e = this.byName.get(name);
      if (e === undefined)
        throw new PgError('MODEL_UNKNOWN', `"${name}" (configured: ${[...this.byName.keys()].join(', ')})`);
      return e;
    });
    if (!this.running) throw new PgError('INFERENCE_FAILED', 'detector is not running');
    assertDecodedImage(image);

    // One letterbox per distinct input geometry, shared by every model that takes it.
    const groups = new Map<string, Entry[]>();
    for (const e of entries) {
      const { width, height, pad } = e.config.input;
      const key = `${width}x${height}/${pad}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    const jobs = await Promise.all(
      [...groups.values()].map(async (group) => {
        const { width, height, pad } = (group[0] as Entry).config.input;
        const lb = await letterbox(image, width, height, pad);
        // Each job transfers (detaches) its buffer, so the copies are made before the original goes.
        return group.map((e, i) => ({
          e,
          lb: i === group.length - 1 ? lb : { ...lb, pixels: new Uint8Array(lb.pixels) },
        }));
      }),
    );
    const perModel = await Promise.all(jobs.flat().map(({ e, lb }) => this.runModel(e, lb, image, view)));
    return perModel.flat();
  }

  private async runModel(e: Entry, lb: Letterboxed, image: DecodedImage, view: string): Promise<Detection[]> {
    let result: Awaited<ReturnType<InferencePool['run']>>;
    try {
      result = await this.pool.run({
        model: e.index,
        pixels: lb.pixels,
        transform: lb.transform,
        srcWidth: image.width,
        srcHeight: image.height,
      });
    } catch (err) {
      e.stats.failures++;
      throw err;
    }
    e.stats.inferences++;
    e.stats.lastMs = result.totalMs;
    e.stats.lastRunMs = result.runMs;
    const model = { name: e.config.name, version: e.config.version };
    return result.detections.map((d) => {
      const label = e.config.labels[d.cls];
      if (label === undefined)
        throw new PgError(
          'INFERENCE_FAILED',
          `model "${e.config.name}" returned class ${d.cls}, which has no label`,
        );
      return { label: label.name, category: label.category, score: d.score, box: d.box, view, model };
    });
  }

  modelInfo(): Array<{ name: string; version: string }> {
    return this.models.map((m) => ({ name: m.name, version: m.version }));
  }

  stats(): DetectorStats {
    const p = this.pool.stats();
    return {
      models: [...this.byName.values()].map((e) => ({ ...e.stats })),
      workers: p.workers,
      readyWorkers: p.ready,
      queued: p.queued,
      inFlight: p.inFlight,
      workerCrashes: p.crashes,
    };
  }
}

/**
 * The ONNX Runtime detector: `opts.workers` worker threads, each holding a session per model with
 * `opts.intraOpThreads` threads. start() loads, shape-checks and warms up every model (MODEL_LOAD,
 * MODEL_SHAPE on failure); the main thread only letterboxes (in sharp's pool) and routes results.
 */
export function createOnnxDetector(
  models: readonly ModelConfig[],
  opts: OnnxDetectorOptions,
  log: Logger,
): Detector {
  return new OnnxDetector(models, opts, componentLogger(log, 'detector'));
}
