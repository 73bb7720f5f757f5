import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelConfig, modelSchema } from '../../../config/schema.js';
import { createLogger } from '../../../config/shared/log.js';
import type { Detection } from '../../../config/shared/types.js';
import { decodeOutput, labelThresholds, toSourceDetections } from '../../../models/decode/decode.js';
import { createOnnxDetector, type DecodedImage, type Detector } from '../../../models/detector.js';

/**
 * The real worker pool on the graphs made by models/fixtures/make_models.py. Each fixture emits the
 * same known rows in its own layout (see FIXTURE_ROWS there); the expectations below are worked out
 * by hand for a 128x96 source, which letterboxes into 64x64 at scale 0.5 with 8 px of padding above
 * and below: source = (model - pad) / 0.5.
 */
const repoFile = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const log = createLogger({ level: 'silent' });

const labels = [
  { name: 'knife', category: 'prohibited', threshold: 0.5 },
  { name: 'gun', category: 'prohibited' },
  { name: 'powder', category: 'drug', threshold: 0.3 },
];

function fixture(
  name: string,
  file: string,
  output: string,
  input: Record<string, unknown> = {},
): ModelConfig {
  return modelSchema.parse({
    name,
    version: `${name}-1`,
    path: repoFile(`models/fixtures/${file}`),
    input: { width: 64, height: 64, ...input },
    output,
    labels,
  });
}

const MODELS = [
  fixture('v5', 'yolov5_nchw_f32.onnx', 'yolov5'),
  fixture('v8', 'yolov8_nchw_f32.onnx', 'yolov8'),
  fixture('e2e', 'e2e_nchw_f32.onnx', 'e2e'),
  fixture('v8-u8', 'yolov8_nhwc_u8.onnx', 'yolov8', { layout: 'nhwc', dtype: 'uint8' }),
  fixture('v8-pad0', 'yolov8_nchw_f32.onnx', 'yolov8', { pad: 0 }),
];

type Expected = Pick<Detection, 'label' | 'category' | 'score' | 'box'>;
// Row A kept; B suppressed by NMS (absent from e2e); C kept (other class); D clipped at the bottom;
// E under knife's 0.5; F under everything; G clipped at the left; I reported as powder (knife fails 0.5).
const KNOWN: Expected[] = [
  { label: 'knife', category: 'prohibited', score: 0.9, box: [16, 0, 48, 32] },
  { label: 'gun', category: 'prohibited', score: 0.7, box: [18, 2, 50, 34] },
  { label: 'gun', category: 'prohibited', score: 0.6, box: [0, 84, 20, 96] },
  { label: 'powder', category: 'drug', score: 0.4, box: [88, 32, 120, 56] },
  { label: 'powder', category: 'drug', score: 0.35, box: [80, 64, 112, 96] },
];
/** The probe row scores the mean red the model sees: 48 content rows of 255 and 16 padding rows. */
const probe = (pad: number): Expected => ({
  label: 'powder',
  category: 'drug',
  score: (48 * 255 + 16 * pad) / (64 * 255),
  box: [48, 64, 80, 96],
});

function solid(width: number, height: number, rgb: [number, number, number]): DecodedImage {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { data, width, height };
}
const RED = solid(128, 96, [255, 0, 0]);
const BLUE = solid(128, 96, [0, 0, 255]);

function expectDetections(actual: Detection[], expected: Expected[]): void {
  const sorted = [...actual].sort((a, b) => b.score - a.score);
  const want = [...expected].sort((a, b) => b.score - a.score);
  expect(sorted.map((d) => ({ ...d, score: Math.round(d.score * 1e4) / 1e4 }))).toEqual(
    want.map((w) => expect.objectContaining({ ...w, score: Math.round(w.score * 1e4) / 1e4 })),
  );
}

describe('ONNX detector on the fixture graphs', () => {
  let detector: Detector;

  beforeAll(async () => {
    detector = createOnnxDetector(MODELS, { workers: 2, intraOpThreads: 1 }, log);
    await detector.start(new AbortController().signal);
  });
  afterAll(async () => {
    await detector.stop();
  });

  it.each(['v5', 'v8', 'e2e', 'v8-u8'])('%s: known detections come back in source pixels', async (name) => {
    const found = await detector.detect(RED, 'top', [name]);
    expectDetections(found, [...KNOWN, probe(114)]);
    for (const d of found) expect(d).toMatchObject({ view: 'top', model: { name, version: `${name}-1` } });
  });

  it.each(['v5', 'v8', 'e2e', 'v8-u8'])(
    '%s: the probe sees the right channel (no red: no probe)',
    async (name) => {
      expectDetections(await detector.detect(BLUE, 'side', [name]), KNOWN);
    },
  );

  it('letterboxes with each model its own padding grey', async () => {
    expectDetections(await detector.detect(RED, 'top', ['v8-pad0']), [...KNOWN, probe(0)]);
  });

  it('runs several models on one image, sharing the letterbox between them', async () => {
    const names = MODELS.map((m) => m.name);
    const found = await detector.detect(RED, 'top', names);
    for (const name of names) {
      expectDetections(
        found.filter((d) => d.model.name === name),
        [...KNOWN, probe(name === 'v8-pad0' ? 0 : 114)],
      );
    }
  });

  it('serves concurrent images on both workers and counts inferences', async () => {
    const before = detector.stats().models.find((m) => m.name === 'v8')?.inferences ?? 0;
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => detector.detect(i % 2 ? RED : BLUE, 'top', ['v8'])),
    );
    expect(all.map((found) => found.length)).toEqual(all.map((_, i) => (i % 2 ? 6 : 5)));
    const s = detector.stats();
    expect(s.models.find((m) => m.name === 'v8')).toMatchObject({ inferences: before + 20, failures: 0 });
    expect(s.models.find((m) => m.name === 'v8')?.lastMs).toBeGreaterThan(0);
    expect(s).toMatchObject({ workers: 2, readyWorkers: 2, queued: 0, inFlight: 0, workerCrashes: 0 });
  });

  it('rejects an unconfigured model with MODEL_UNKNOWN and a malformed image with INFERENCE_FAILED', async () => {
    await expect(detector.detect(RED, 'top', ['nope'])).rejects.toMatchObject({ code: 'MODEL_UNKNOWN' });
    await expect(
      detector.detect({ data: Buffer.alloc(5), width: 4, height: 4 }, 'top', ['v8']),
    ).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
    });
  });

  it('reports the configured models', () => {
    expect(detector.modelInfo()).toEqual(MODELS.map((m) => ({ name: m.name, version: m.version })));
  });
});

describe('ONNX detector start-up checks', () => {
  async function startError(models: ModelConfig[]): Promise<{ code?: string; message: string }> {
    const d = createOnnxDetector(models, { workers: 1, intraOpThreads: 1 }, log);
    const err = await d.start(new AbortController().signal).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(d.stats().readyWorkers).toBe(0); // nothing left running after a failed start
    await d.stop();
    return err;
  }
  const v8 = (input: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ModelConfig =>
    modelSchema.parse({ ...fixture('v8', 'yolov8_nchw_f32.onnx', 'yolov8', input), ...extra });

  it.each([
    [
      'label count',
      v8({}, { labels: [...labels, { name: 'pills', category: 'drug' }] }),
      'is [1,7,11]; config (output yolov8, 4 labels) expects [1,8,N]',
    ],
    [
      'input size',
      v8({ width: 32, height: 32 }),
      'is float32 [1,3,64,64]; config (input 32x32, nchw, float32) expects float32 [1,3,32,32]',
    ],
    ['layout', v8({ layout: 'nhwc' }), 'expects float32 [1,64,64,3]'],
    [
      'dtype',
      v8({ dtype: 'uint8' }),
      'is float32 [1,3,64,64]; config (input 64x64, nchw, uint8) expects uint8',
    ],
    ['output layout', v8({}, { output: 'yolov5' }), 'config (output yolov5, 3 labels) expects [1,N,8]'],
  ])('a wrong %s is MODEL_SHAPE naming expected and actual', async (_what, model, message) => {
    const err = await startError([model]);
    expect(err.code).toBe('MODEL_SHAPE');
    expect(err.message).toContain('model "v8"');
    expect(err.message).toContain(message);
  });

  it('a missing or corrupt model file is MODEL_LOAD', async () => {
    expect(await startError([v8({}, { path: '/nonexistent/model.onnx' })])).toMatchObject({
      code: 'MODEL_LOAD',
    });
    const junk = join(mkdtempSync(join(tmpdir(), 'pg-models-')), 'junk.onnx');
    writeFileSync(junk, 'not a model');
    expect(await startError([v8({}, { path: junk })])).toMatchObject({
      code: 'MODEL_LOAD',
      message: expect.stringContaining(junk),
    });
  });

  it('detect() before start() or after stop() fails fast', async () => {
    const d = createOnnxDetector([v8()], { workers: 1, intraOpThreads: 1 }, log);
    await expect(d.detect(RED, 'top', ['v8'])).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    await d.start(new AbortController().signal);
    await d.stop();
    expect(d.stats().readyWorkers).toBe(0);
    await expect(d.detect(RED, 'top', ['v8'])).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
  });
});

describe('stand-in detector', () => {
  it('loads, and matches a bare onnxruntime run on the same pixels', async () => {
    const path = repoFile('models/standin/standin.onnx');
    const model = modelSchema.parse({
      name: 'standin',
      version: 'standin-random',
      path,
      input: { width: 640, height: 640 },
      output: 'yolov8',
      labels: JSON.parse(readFileSync(repoFile('models/standin/labels.json'), 'utf8')),
    });
    // A 640x640 source needs no letterbox, so the bare run below sees exactly what the worker sees.
    const image = solid(640, 640, [0, 0, 0]);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7919 + (i >> 11) * 31) % 256;
    const detector = createOnnxDetector([model], { workers: 1, intraOpThreads: 1 }, log);
    await detector.start(new AbortController().signal);
    const found = await detector.detect(image, 'main', ['standin']).finally(() => detector.stop());

    const plane = 640 * 640;
    const chw = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < 3; c++) chw[c * plane + i] = (image.data[i * 3 + c] as number) / 255;
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
    const out = (await session.run({ images: new ort.Tensor('float32', chw, [1, 3, 640, 640]) }))
      .output0 as ort.Tensor;
    await session.release();
    const spec = {
      output: 'yolov8' as const,
      thresholds: labelThresholds(model),
      iouThreshold: 0.45,
      maxDetections: 100,
    };
    const identity = { scaleX: 1, scaleY: 1, padX: 0, padY: 0 };
    const bare = toSourceDetections(
      decodeOutput(out.data as Float32Array, out.dims, spec),
      identity,
      640,
      640,
    );

    expect(found.length).toBeGreaterThan(0);
    expect(found.map((d) => ({ label: d.label, score: d.score, box: d.box }))).toEqual(
      bare.map((b) => ({ label: model.labels[b.cls]?.name, score: b.score, box: b.box })),
    );
  });
});
