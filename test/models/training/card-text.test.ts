import { describe, expect, it } from 'vitest';
import { type Card, renderCard } from '../../../models/training/card-text.js';

/** MODEL.md from a card's figures: the int8 section appears only for a quantized model, from its figures. */
const fig = (map50: number) => ({
  images: 600,
  map50,
  map5095: 0.5,
  perClass: { knife: { gt: 57, ap50: map50, ap5095: 0.5, precision: 0.8, recall: 0.8 } },
});

const base: Card = {
  name: 'prohibited',
  version: 'test',
  file: 'models/prohibited/model.onnx',
  input: { width: 448, height: 448, layout: 'nhwc', dtype: 'uint8' },
  output: 'yolov8',
  labels: ['knife'],
  parameters: 2_420_000,
  flops: 5.5e9,
  depth: [1, 3, 2],
  training: { data: 'run 1', seed: 1, minutes: 10, steps: 100, imagesSeen: 1600, batch: 16, threads: 1 },
  heldout: { ...fig(0.83), generator: 'parcelguard synth --count 600 --seed 9001' },
  degraded: { blur: fig(0.8) },
  latency: { runP50Ms: 14, runP90Ms: 15, imagesPerSecGateway: 40, threads: 1, machine: 'Test CPU, 2 cores' },
  ci: { count: 100, seed: 9001, map50: 0.87, map5095: 0.55, tolerance: 0.01 },
  measuredAt: '2026-11-23T00:00:00.000Z',
};

describe('renderCard', () => {
  it('says how a quantized model was made, what its float export scores, and the speed ratio', () => {
    const text = renderCard({
      ...base,
      quantization: {
        activations: '37 feature maps, uint8 asymmetric, per tensor',
        weights: '24 convolutions, int8 symmetric per output channel; biases int32',
        method: 'minmax',
        imageConvolutions: 'float',
        calibration: { data: '.tmp/models-data/train', scans: 200 },
        float: { map50: 0.833, map5095: 0.542, runP50Ms: 31.5 },
      },
    });
    expect(text).toContain('| numbers | int8, post-training');
    expect(text).toContain(
      "ranges from 200 training scans (`.tmp/models-data/train`), minmax. The convolution fed by the image, the heads'",
    );
    // Held-out here: 0.83 and 0.5.
    expect(text).toContain(
      'The float export of the same checkpoint scores mAP50 0.833 and mAP50:95 0.542 on the same set, so int8\nchanges them by −0.003 and −0.042.',
    );
    // 31.5 / 14 ms
    expect(text).toContain('p50 31.5 ms, so int8 runs\n2.25× as fast on this CPU');
  });

  it('tabulates the held-out errors by cause when the card has them', () => {
    const text = renderCard({
      ...base,
      errors: [{ label: 'knife', falseAlarms: { background: 5, 'on-gun': 1, mislocated: 2 }, misses: {} }],
    });
    expect(text).toContain('| class | false alarms | misses |');
    expect(text).toContain('| knife | 8 (background 5, mislocated 2, on-gun 1) | 0 |');
    expect(renderCard(base)).not.toContain('| class | false alarms | misses |');
  });

  it('counts crops among what training saw when some runs trained on crops', () => {
    const mixed = { ...base.training, batch: '16 or 48', threads: '1 or 2', crops: true };
    expect(renderCard({ ...base, training: mixed })).toContain(
      '| training | 10 min in all on 1 or 2 CPU thread(s), 100 steps of 16 or 48, 1600 scans and crops seen |',
    );
    expect(renderCard(base)).toContain('100 steps of 16, 1600 images seen |');
  });

  it('has no int8 section for a float model', () => {
    const text = renderCard(base);
    expect(text).not.toContain('| numbers |');
    expect(text).not.toContain('float export');
    expect(text).toContain('**14.0 ms**');
  });

  it('puts each AP50 beside its bootstrap interval when the card has them, and a dash when not', () => {
    const perClass: Record<string, [number, number] | null> = { knife: null };
    const heldout = {
      ...base.heldout,
      ap50Intervals: { resamples: 1000, map50: [0.8, 0.86] as [number, number], perClass },
    };
    const text = renderCard({ ...base, heldout });
    expect(text).toContain('over 1000 resamples of these images');
    expect(text).toContain('| knife | 57 | 0.830 | – | 0.500 | 0.800 | 0.800 |');
    expect(text).toContain('| **all** | | **0.830** | 0.800–0.860 | **0.500** | | |');
    perClass.knife = [0.75, 0.9];
    expect(renderCard({ ...base, heldout })).toContain('| knife | 57 | 0.830 | 0.750–0.900 |');
    expect(renderCard(base)).not.toContain('resamples');
  });
});
