/**
 * Writes a shipped model's card from measurements: held-out and degraded-set COCO metrics through the
 * gateway's own pipeline (runEval), single-image latency, size and training facts.
 *
 *   node --import tsx models/training/card.ts --name prohibited --heldout DIR --degraded DIR --ci DIR
 *
 * models/<name>/card.json keeps the figures machine-readable: the CI check re-measures `ci` on a
 * regenerated set and fails when the model, decoder or preprocessing drifted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import sharp from 'sharp';
import type { ModelConfig } from '../../config/schema.js';
import { bootstrapAp50, type Interval } from '../eval/bootstrap.js';
import { buildClassMapping } from '../eval/classes.js';
import { readDataset } from '../eval/dataset.js';
import { ErrorReport } from '../eval/error-report.js';
import { modelFromOnnx } from '../eval/model.js';
import { type EvalReport, runEval } from '../eval/run.js';
import { letterbox } from '../preprocess/letterbox.js';
import { renderCard } from './card-text.js';

const REPO = join(import.meta.dirname, '../..');
const log = pino({ level: 'warn' });
const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
const BOOTSTRAP_RESAMPLES = 1000;
type Pair = [number, number] | null;

export async function evaluate(model: ModelConfig, dir: string, errors?: ErrorReport): Promise<EvalReport> {
  const dataset = await readDataset(dir);
  const labels = model.labels.map((l) => l.name);
  const mapping = buildClassMapping(dataset.names, labels, new Map());
  return runEval({
    model,
    dataset,
    mapping,
    workers: 1,
    intraOpThreads: 1,
    log,
    ...(errors ? { onImage: errors.collect(mapping.present) } : {}),
  });
}

/** session.run alone and the gateway's whole detect path, one image at a time, one thread. */
async function latency(model: ModelConfig, image: string): Promise<{ runP50Ms: number; runP90Ms: number }> {
  const s = await ort.InferenceSession.create(model.path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const lb = await letterbox(
    { data, width: info.width, height: info.height },
    model.input.width,
    model.input.height,
    model.input.pad,
  );
  const t = new ort.Tensor('uint8', lb.pixels, [1, model.input.height, model.input.width, 3]);
  const name = s.inputNames[0]!;
  for (let i = 0; i < 5; i++) await s.run({ [name]: t });
  const ms: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    await s.run({ [name]: t });
    ms.push(performance.now() - t0);
  }
  await s.release();
  ms.sort((a, b) => a - b);
  return { runP50Ms: round(ms[20]!, 1)!, runP90Ms: round(ms[36]!, 1)! };
}

/** What quantize.py wrote beside the model; null for a float model. */
interface QuantizationRecord {
  from: string;
  activations: string;
  weights: string;
  method: string;
  imageConvolutions?: string;
  calibration: { data: string; scans: number };
}

/**
 * The cost of int8, measured rather than assumed: the float export of the same checkpoint, scored on
 * the same held-out set and timed on the same machine in the same run.
 */
async function floatReference(
  model: ModelConfig,
  train: TrainLog,
  dir: string,
  heldout: string,
  image: string,
): Promise<{ map50: number | null; map5095: number | null; runP50Ms: number }> {
  const tmp = mkdtempSync(join(tmpdir(), 'pg-card-'));
  try {
    const path = join(tmp, 'float.onnx');
    execFileSync('/usr/bin/python3', [
      join(REPO, 'models/training/export.py'),
      join(dir, 'checkpoint.pt'),
      train.classes.join(','),
      String(train.size),
      path,
    ]);
    const float = { ...model, path };
    const r = await evaluate(float, heldout);
    return {
      map50: round(r.map50),
      map5095: round(r.map5095),
      runP50Ms: (await latency(float, image)).runP50Ms,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const summary = (r: EvalReport) => ({
  images: r.images,
  map50: round(r.map50),
  map5095: round(r.map5095),
  perClass: Object.fromEntries(
    r.classes.map((c) => [
      c.label,
      {
        gt: c.gt,
        ap50: round(c.ap50),
        ap5095: round(c.ap5095),
        precision: round(c.precision),
        recall: round(c.recall),
      },
    ]),
  ),
});

/** 90 % bootstrap intervals (1000 resamples of the images) of each AP50 and of mAP50, rounded. */
function intervals(r: EvalReport): { resamples: number; map50: Pair; perClass: Record<string, Pair> } {
  const boot = bootstrapAp50(
    r.classes.map((c) => (c.inDataset ? c : null)),
    r.images,
    BOOTSTRAP_RESAMPLES,
  );
  const pair = (i: Interval | null | undefined): Pair =>
    i ? [round(i.lo) as number, round(i.hi) as number] : null;
  return {
    resamples: boot.resamples,
    map50: pair(boot.map50),
    perClass: Object.fromEntries(r.classes.map((c, i) => [c.label, pair(boot.perClass[i])])),
  };
}

interface TrainRun {
  dataDescription: string | null;
  data: string;
  minutes: number;
  steps: number;
  lr: number;
  seed: number;
  /** Input size and blocks per stage of this run; older logs lack them (352 or 320 px, 1/2/1 blocks). */
  size?: number;
  depth?: number[];
  /** Scans used from each dataset when fewer than all (`--limit`); absent or null for all. */
  limit?: number | null;
  /** The depthwise-separable stride-4 neck (lighten.py); older logs lack it (the full 3×3 neck). */
  lightS4?: boolean;
  augmentation?: string;
  /** How the run built its training targets, where it differed from the first runs. */
  targets?: string;
  /** Scans repeated per epoch by class (`--repeat`, e.g. lighter=3); absent or null for none. */
  repeat?: string | null;
  /** Images (or crops) per step and CPU threads; older logs lack the batch (16). */
  batch?: number;
  threads?: number;
  /** How the run cropped its scans (`--crop`, crops.py); absent or null for whole scans. */
  crop?: string | null;
  /** The weight average it exported (`--ema`, ema.py); absent or null for the last step's weights. */
  ema?: string | null;
  /** Scans it repeated because a model erred on them (`--hard`, sampling.py); absent or null for none. */
  hard?: string | null;
}

export type TrainLog = Record<string, unknown> & {
  classes: string[];
  size: number;
  /** Residual blocks at stride 8, 16, 32; logs from before networks could grow lack it. */
  depth?: number[];
  lightS4?: boolean;
  images: number;
  minutes: number;
  steps: number;
  imagesSeen: number;
  totalMinutes?: number;
  totalSteps?: number;
  totalImagesSeen?: number;
  runs?: TrainRun[];
};

/** What the model was trained on, run by run (a resumed run continues the one before). */
export function trainingData(t: TrainLog): string {
  if (!t.runs) return `\`parcelguard synth --count ${t.images} --seed 1001\``;
  return t.runs
    .map(
      (r, i) =>
        `run ${i + 1}${i > 0 ? ' (resumed)' : ''}: ${r.dataDescription ?? r.data}${r.limit ? ` (the first ${r.limit} scans of each)` : ''}, ${r.minutes} min${r.size ? ` at ${r.size} px` : ''}${r.depth ? ` with ${r.depth.join('/')} blocks at stride 8/16/32` : ''}${r.lightS4 ? ', depthwise-separable stride-4 neck' : ''}, ${r.steps} steps${r.batch && r.batch !== 16 ? ` of ${r.batch}` : ''}${r.crop ? ` on ${r.crop}` : ''}, lr ${r.lr}, seed ${r.seed}${r.augmentation ? `, augmentation: ${r.augmentation}` : ''}${r.targets ? `, targets: ${r.targets}` : ''}${r.repeat ? `, scans repeated per epoch: ${r.repeat}` : ''}${r.hard ? `, ${r.hard}` : ''}${r.ema ? `, ${r.ema}` : ''}`,
    )
    .join('; ');
}

/** A per-run setting over the whole history, e.g. "1 or 2" threads; `fallback` for logs that lack it. */
function acrossRuns(t: TrainLog, key: 'batch' | 'threads', fallback: unknown): unknown {
  if (!t.runs) return t[key] ?? fallback;
  const values = [...new Set(t.runs.map((r) => r[key] ?? fallback))];
  return values.length === 1 ? values[0] : values.join(' or ');
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      name: { type: 'string' },
      heldout: { type: 'string' },
      degraded: { type: 'string' },
      ci: { type: 'string' },
      'heldout-seed': { type: 'string', default: '9001' },
      'ci-seed': { type: 'string', default: '9001' },
      version: { type: 'string', default: 'synthetic-2026.11' },
    },
  });
  if (!a.name || !a.heldout || !a.degraded || !a.ci)
    throw new Error('usage: card.ts --name NAME --heldout DIR --degraded DIR --ci DIR');
  const dir = join(REPO, 'models', a.name);
  const model: ModelConfig = {
    ...(await modelFromOnnx(join(dir, 'model.onnx'))),
    name: a.name,
    version: a.version,
  };
  const train = JSON.parse(readFileSync(join(dir, 'train-log.json'), 'utf8')) as TrainLog;
  const flops = JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        join(REPO, 'models/training/flops.py'),
        '--classes',
        String(train.classes.length),
        '--size',
        String(train.size),
        ...(train.depth ? ['--depth', train.depth.join(',')] : []),
        ...(train.lightS4 ? ['--light-s4'] : []),
      ],
      {
        encoding: 'utf8',
      },
    ),
  ) as { params: number; flops: number; depth: number[]; lightS4: boolean };

  const errors = new ErrorReport(
    model.labels.map((l) => l.name),
    0,
  );
  const heldout = await evaluate(model, a.heldout, errors);
  const degraded: Record<string, ReturnType<typeof summary>> = {};
  for (const kind of ['blur', 'noise', 'contrast'])
    degraded[kind] = summary(await evaluate(model, join(a.degraded, kind)));
  const ci = await evaluate(model, a.ci);
  const firstImage = (await readDataset(a.heldout)).images[0]!.path;
  const quantFile = join(dir, 'quantization.json');
  const quantized = existsSync(quantFile)
    ? (JSON.parse(readFileSync(quantFile, 'utf8')) as QuantizationRecord)
    : null;
  const run = await latency(model, firstImage);
  const float = quantized ? await floatReference(model, train, dir, a.heldout, firstImage) : null;
  const card = {
    name: a.name,
    version: model.version,
    file: `models/${a.name}/model.onnx`,
    input: model.input,
    output: model.output,
    labels: model.labels.map((l) => l.name),
    parameters: flops.params,
    flops: flops.flops,
    depth: flops.depth,
    lightS4: flops.lightS4,
    training: {
      data: trainingData(train),
      seed: train.seed,
      minutes: train.totalMinutes ?? train.minutes,
      steps: train.totalSteps ?? train.steps,
      imagesSeen: train.totalImagesSeen ?? train.imagesSeen,
      batch: acrossRuns(train, 'batch', 16),
      threads: acrossRuns(train, 'threads', 1),
      crops: train.runs?.some((r) => r.crop) ?? false,
    },
    heldout: {
      ...summary(heldout),
      ap50Intervals: intervals(heldout),
      generator: `parcelguard synth --count ${heldout.images} --seed ${a['heldout-seed']}`,
    },
    errors: errors.tally(),
    degraded,
    latency: {
      ...run,
      imagesPerSecGateway: round(heldout.imagesPerSec, 1),
      threads: 1,
      // Latency differs by tens of percent between the CPUs our machines are drawn from (23.6 vs 30.1 ms
      // for the same prohibited model), so a card says which one it was measured on.
      machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores`,
    },
    ...(quantized && float ? { quantization: { ...quantized, float } } : {}),
    ci: {
      count: ci.images,
      seed: Number(a['ci-seed']),
      map50: round(ci.map50, 4),
      map5095: round(ci.map5095, 4),
      tolerance: 0.01,
    },
    measuredAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  writeFileSync(join(dir, 'MODEL.md'), renderCard(card));
  console.log(
    JSON.stringify({
      name: card.name,
      heldout: card.heldout.map50,
      degraded: Object.fromEntries(Object.entries(degraded).map(([k, v]) => [k, v.map50])),
      latency: card.latency,
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
