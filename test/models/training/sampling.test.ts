import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * Repeat-factor sampling (models/training/sampling.py): scans holding a hard class come round more
 * often per epoch. Needs Debian's python3-torch like the rest of the recipe; CI does not install it,
 * so there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('repeat-factor sampling (needs python3-torch)', () => {
  let found: Record<string, unknown> = {};
  beforeAll(() => {
    found = runPythonCheck(join(import.meta.dirname, 'sampling_check.py'), 60_000);
  });

  it('repeats scans by their classes’ largest factor and refuses a bad --repeat', () => {
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

  it('repeats the scans an errors.json names, by real path, and refuses one mined elsewhere', () => {
    // Scan 1 is named twice (once through a symlinked folder): one hard scan with both labels.
    expect(found.hardLabels).toEqual({ '000001.jpg': ['knife', 'lighter'], '000003.jpg': ['gun'] });
    expect(found.hardFactors).toEqual([1, 2.5, 1, 2.5, 1]);
    expect(found.lighterOnly).toEqual([1, 2, 1, 1, 1]);
    // Class factors 3, 3, 1, 1, 1.5 against hard 1, 2, 1, 2, 1: the larger wins.
    expect(found.combined).toEqual([3, 3, 1, 2, 1.5]);
    expect(found.hardMissingFile).toMatch(
      /^refused: --hard .*nope\.json: cannot read it .*parcelguard eval --errors/,
    );
    expect(found.hardNotErrors).toMatch(/^refused: --hard .*bad\.json: not an errors\.json/);
    expect(found.hardNoImage).toMatch(
      /^refused: --hard .*nameless\.json: not an errors\.json .*naming its `image`/,
    );
    expect(found.hardUnknownLabel).toMatch(/^refused: --hard-labels: unknown class 'lightr'/);
    expect(found.hardOutside).toMatch(
      /^refused: --hard: 1 of its 2 scans are not in --data, e\.g\. .*000001\.jpg/,
    );
    expect(found.hardBelowOne).toMatch(/^refused: --hard-factor: must be a number ≥ 1, got 0.5/);
  });
});
