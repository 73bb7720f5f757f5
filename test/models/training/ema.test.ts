import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * The weight average of train.py --ema (models/training/ema.py). Needs Debian's python3-torch like the
 * rest of the recipe; CI does not install it, so there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('moving average of the weights (needs python3-torch)', () => {
  it('averages with a ramped decay, copies counters, and is what checkpoint.pt holds', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'ema_check.py'), 60_000);
    expect(found.parsed).toBe(0.998);
    expect(found.zero).toMatch(/^refused: --ema 0: the decay must be above 0 and below 1/);
    expect(found.one).toMatch(/^refused: --ema 1: the decay must be above 0 and below 1/);
    expect(found.word).toMatch(/^refused: --ema 'fast': not a number/);
    expect(found.frozen).toBe(true);
    expect(found.shadowInEval).toBe(true);
    // decay 0.99 ramped over 10 steps: the first update keeps 0.99 * (1 - e^-0.1) ≈ 0.094 of the old.
    expect(found.firstRate).toBeCloseTo(0.0942, 4);
    expect(found.firstRate).toBeCloseTo(found.firstRateExpected as number, 12);
    expect(found.firstUpdateError).toBeLessThan(1e-5);
    expect(found.countsCopied).toBe(true);
    expect(found.convergedError).toBeLessThan(1e-4);
    expect(found.lateRate).toBeCloseTo(0.99, 6);
    expect(found.shadowIndependent).toBe(true);
    expect(found.savedIsAverage).toBe(true);
    expect(found.lastIsLive).toBe(true);
    expect(found.averageDiffersFromLive).toBe(true);
    expect(found.plainFiles).toEqual(['checkpoint.pt']);
    expect(found.plainIsLive).toBe(true);
  });
});
