import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * Repeat-factor sampling (models/training/sampling.py): scans holding a hard class come round more
 * often per epoch. Needs Debian's python3-torch like the rest of the recipe; CI does not install it,
 * so there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('repeat-factor sampling (needs python3-torch)', () => {
  it('repeats scans by their classes’ largest factor and refuses a bad --repeat', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'sampling_check.py'), 60_000);
    expect(found.factors).toEqual({ '1': 1.5, '3': 3 });
    expect(found.none).toEqual({});
    expect(found.unknownClass).toMatch(/^refused: .*unknown class 'lighterr'.*gun,knife,scissors,lighter/);
    expect(found.belowOne).toMatch(/^refused: .*must be a number ≥ 1, got '0.5'/);
    expect(found.notANumber).toMatch(/^refused: .*'lighter=x' is not CLASS=FACTOR/);
    expect(found.noFactor).toMatch(/^refused: .*'lighter' is not CLASS=FACTOR/);
    expect(found.twice).toMatch(/^refused: .*lighter is given twice/);
    // lighter; knife + lighter (the larger wins); gun; nothing; knife.
    expect(found.imageFactors).toEqual([3, 3, 1, 1, 1.5]);
    expect(found.wholeCounts).toEqual([3, 3, 1, 1, 1]);
    expect(found.shuffled).toBe(true);
    expect(found.plainIsRandperm).toBe(true);
    const mean = found.meanCopies as number[];
    expect(mean.slice(0, 4)).toEqual([3, 3, 1, 1]);
    // 1.5: once always, a second time in about half the epochs (4000 epochs, so ±0.03 is > 3 sigma).
    expect(mean[4]).toBeGreaterThan(1.47);
    expect(mean[4]).toBeLessThan(1.53);
  });
});
