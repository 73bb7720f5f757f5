import { describe, expect, it } from 'vitest';
import { type TrainLog, trainingData } from '../../../models/training/card.js';

/** The card's account of how a model was trained, run by run, from its train-log.json. */
describe('trainingData', () => {
  const run = {
    data: 'train',
    dataDescription: 'parcelguard synth: 8000 scans, seed 1001',
    minutes: 80,
    steps: 2416,
    imagesSeen: 38656,
    images: 8000,
    lr: 0.001,
    seed: 41,
    size: 480,
  };
  const log = (runs: TrainLog['runs']): TrainLog => ({
    classes: ['drug-brick'],
    size: 480,
    images: 8000,
    minutes: 80,
    steps: 2416,
    imagesSeen: 38656,
    runs,
  });

  it('names the weight average and the hard scans of a run that used them, and nothing for one that did not', () => {
    const text = trainingData(
      log([
        run,
        {
          ...run,
          seed: 42,
          repeat: 'lighter=3',
          hard: '3430 hard scans from a.json come round 2.0x',
          ema: 'weights averaged (EMA) with decay 0.998, ramped in over 200 steps',
        },
      ]),
    );
    const [first, second] = text.split('; ');
    expect(first).toBe(
      'run 1: parcelguard synth: 8000 scans, seed 1001, 80 min at 480 px, 2416 steps, lr 0.001, seed 41',
    );
    expect(second).toBe(
      'run 2 (resumed): parcelguard synth: 8000 scans, seed 1001, 80 min at 480 px, 2416 steps, lr 0.001, seed 42, ' +
        'scans repeated per epoch: lighter=3, 3430 hard scans from a.json come round 2.0x, ' +
        'weights averaged (EMA) with decay 0.998, ramped in over 200 steps',
    );
  });
});
