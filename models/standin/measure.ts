/**
 * Single-image latency of the stand-in detector on this machine:
 *   node --import tsx models/standin/measure.ts [runs]
 *
 * 1. the bare onnxruntime-node loop (session.run on a ready tensor, this thread), per intra-op thread count;
 * 2. the full Detector path (letterbox in sharp + worker thread + decoding) on a 1180×640 image,
 *    one image at a time, so the difference is the pipeline's per-image overhead.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { modelSchema } from '../../config/schema.js';
import { createLogger } from '../../config/shared/log.js';
import { createOnnxDetector } from '../detector.js';

const runs = Number(process.argv[2] ?? 50);
const modelPath = fileURLToPath(new URL('./standin.onnx', import.meta.url));
const labels: unknown = JSON.parse(readFileSync(new URL('./labels.json', import.meta.url), 'utf8'));

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): string => (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number).toFixed(1);
  return `p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, min ${(s[0] as number).toFixed(1)} ms (${s.length} runs)`;
}

async function bare(threads: number): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const data = new Float32Array(3 * 640 * 640);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 256) / 255;
  const feeds = { images: new ort.Tensor('float32', data, [1, 3, 640, 640]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t);
  }
  await session.release();
  console.log(`bare session.run, ${threads} intra-op thread(s): ${summary(ms)}`);
}

async function viaDetector(threads: number): Promise<void> {
  const model = modelSchema.parse({
    name: 'standin',
    version: 'standin-random',
    path: modelPath,
    input: { width: 640, height: 640 },
    output: 'yolov8',
    labels,
  });
  const detector = createOnnxDetector(
    [model],
    { workers: 1, intraOpThreads: threads },
    createLogger({ level: 'warn' }),
  );
  await detector.start(new AbortController().signal);
  // An X-ray-like scene: light background, a dozen flat-coloured overlapping items.
  const width = 1180;
  const height = 640;
  const data = Buffer.alloc(width * height * 3, 230);
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const int = (max: number, min = 0): number => Math.floor(min + rnd() * (max - min));
  for (let r = 0; r < 12; r++) {
    const [x0, y0] = [int(1000), int(500)];
    const [x1, y1] = [Math.min(width, x0 + int(230, 30)), Math.min(height, y0 + int(180, 30))];
    const rgb = [int(256), int(256), int(256)];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.set(rgb, (y * width + x) * 3);
  }
  const image = { data, width, height };
  for (let i = 0; i < 5; i++) await detector.detect(image, 'main', ['standin']);
  const ms: number[] = [];
  let found = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    found += (await detector.detect(image, 'main', ['standin'])).length;
    ms.push(performance.now() - t);
  }
  await detector.stop();
  console.log(
    `Detector.detect 1180x640, 1 worker x ${threads} thread(s): ${summary(ms)}, ${(found / runs).toFixed(1)} detections/image`,
  );
}

for (const threads of [1, 2]) await bare(threads);
for (const threads of [1, 2]) await viaDetector(threads);
