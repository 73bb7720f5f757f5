import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeView } from '../../../gateway/pipeline/decode.js';
import { readDataset } from '../../../models/eval/dataset.js';
import { letterbox } from '../../../models/preprocess/letterbox.js';
import { writeDataset } from '../../../models/synth/dataset.js';
import { spread } from '../../../models/training/calibrate.js';
import { SYSTEM_PYTHON } from '../../support/system-python.js';

/**
 * Post-training quantization (models/training/quantize.py with calibrate.ts) on a small float
 * detector shaped like ours (quantize_check.py builds it), calibrated on synthetic scans: the right
 * tensors and convolutions become integer, the head stays float, onnxruntime really fuses the result
 * into integer kernels, and the int8 model's outputs stay close to the float model's on scans it was
 * not calibrated on. Needs python3-onnx and numpy, which CI installs.
 */
const SIZE = 64;
let dir: string;
let found: Record<string, unknown>;

async function scanInput(path: string): Promise<ort.Tensor> {
  const view = await decodeView(
    { kind: 'image', view: 'main', originalName: path, from: path, to: path },
    4e7,
  );
  const boxed = await letterbox({ data: view.rgb, width: view.width, height: view.height }, SIZE, SIZE, 114);
  return new ort.Tensor('uint8', boxed.pixels, [1, SIZE, SIZE, 3]);
}

describe('int8 quantization of a float detector', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-quantize-'));
    await writeDataset({ out: join(dir, 'calib'), count: 6, seed: 31, height: 320 });
    await writeDataset({ out: join(dir, 'unseen'), count: 3, seed: 32, height: 320 });
    found = JSON.parse(
      execFileSync(SYSTEM_PYTHON, [join(import.meta.dirname, 'quantize_check.py'), dir, join(dir, 'calib')], {
        encoding: 'utf8',
        timeout: 120_000,
      }),
    ) as Record<string, unknown>;
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('quantizes every feature map and convolution but the head, and records how', () => {
    expect(found.exit, JSON.stringify(found.stderr)).toBe(0);
    // 11 feature maps: four Relu outputs, the residual's and the pyramid's addends (c3, l2, the
    // upsampled l4), l4 itself, the pyramid sum and the depthwise output. The normalised input is not
    // one: c1, fed by the image, stays float (see image_convolutions in quantize.py).
    expect(found.record).toEqual({
      from: 'float.onnx',
      activations: '11 feature maps, uint8 asymmetric, per tensor',
      weights: '7 convolutions, int8 symmetric per output channel; biases int32',
      method: 'minmax',
      imageConvolutions: 'float',
      calibration: { data: join(dir, 'calib'), scans: 6 },
    });
    const ops = found.ops as Record<string, number>;
    expect(ops.QuantizeLinear).toBe(11);
    // One per feature map, one per weight tensor, one per bias (dw has none).
    expect(ops.DequantizeLinear).toBe(11 + 7 + 6);
    expect(found.floatConvs).toEqual(['c1', 'head']);
  });

  it("emulates pre-VNNI CPUs' saturating pair sums, which the image-fed convolution suffers most", () => {
    expect(found.pairs).toEqual([64770 - 32767, 0, 0, -(64770 - 32768)]);
    type Row = { conv: string } & Record<
      'channel-fastest' | 'kernel-fastest',
      { share: number; worstSteps: number }
    >;
    const rows = found.saturation as Row[];
    // Every integer convolution but the depthwise one, which runs in an int32 kernel.
    expect(rows.map((r) => r.conv)).toEqual(['c2', 'c3', 'c4', 'l4', 'l2', 'pw']);
    const image = (found.saturationImageInt8 as Row[]).find((r) => r.conv === 'c1');
    // Near-white scans: most of c1's outputs would be wrong if it were integer.
    expect(image?.['channel-fastest'].share).toBeGreaterThan(0.2);
    expect(image?.['kernel-fastest'].share).toBeGreaterThan(0.2);
    for (const r of rows) {
      for (const order of ['channel-fastest', 'kernel-fastest'] as const) {
        expect(r[order].share).toBeGreaterThanOrEqual(0);
        expect(r[order].share).toBeLessThan(image?.[order].share ?? 0);
      }
    }
  });

  it('refuses to quantize a model twice', () => {
    expect(found.again).toMatch(/^exit 1: .*int8\.onnx is already quantized; export the float model/);
  });

  it('runs as integer kernels in onnxruntime and stays close to the float model', async () => {
    const optimized = join(dir, 'int8.optimized.onnx');
    const f32 = await ort.InferenceSession.create(join(dir, 'float.onnx'), { intraOpNumThreads: 1 });
    const i8 = await ort.InferenceSession.create(join(dir, 'int8.onnx'), {
      intraOpNumThreads: 1,
      // The integer fusions run at 'extended'; 'all' adds layout changes specific to this CPU.
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: optimized,
    });
    // The runtime's own optimised graph: DQ -> Conv -> Q fused into integer convolutions.
    const fused = readFileSync(optimized).toString('latin1');
    expect(fused).toContain('QLinearConv');
    expect(fused).toContain('QLinearAdd');

    const unseen = (await readDataset(join(dir, 'unseen'))).images;
    let worst = 0;
    let meanAbs = 0;
    let n = 0;
    for (const scan of unseen) {
      const feeds = { images: await scanInput(scan.path) };
      const a = (await f32.run(feeds)).output0?.data as Float32Array;
      const b = (await i8.run(feeds)).output0?.data as Float32Array;
      expect(b.length).toBe(4 * (SIZE / 2) ** 2);
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs((a[i] as number) - (b[i] as number));
        worst = Math.max(worst, d);
        meanAbs += d;
        n++;
      }
    }
    await Promise.all([f32.release(), i8.release()]);
    // Sigmoid scores in [0, 1]. Rounding through seven uint8 layers moves them by 0.004 on average
    // (0.03 at worst); weight scales 30% off, or a zero point at 0 that clips the negatives, by 0.24
    // and more on average.
    expect(meanAbs / n).toBeLessThan(0.01);
    expect(worst).toBeLessThan(0.08);
  });

  it('calibrates on scans spread over the whole set, not its first ones', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([0, 2, 5, 7]);
    expect(spread([0, 1, 2], 5)).toEqual([0, 1, 2]);
  });
});
