import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * The training recipe's image cache (models/training/data.py): letterboxed as the gateway does it,
 * boxes mapped to the model's classes, and the same result when several datasets fill one shared
 * array (train.py does that rather than concatenating, which held every image twice). Needs Debian's
 * python3-torch like the rest of the recipe; CI does not install it, so there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('the training image cache (needs python3-torch)', () => {
  it('letterboxes, maps classes and fills a slice of a shared array exactly as a fresh one', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'data_check.py'), 60_000);
    expect(found.files).toEqual(['a.png', 'b.png']);
    expect(found.sameImages).toBe(true);
    expect(found.sameBoxes).toBe(true);
    expect(found.untouchedSlot).toBe(0);
    expect(found.padTop).toEqual([114, 114, 114]);
    expect(found.scanPixel).toEqual([10, 200, 30]);
    // 200x100 → 64x32 (scale 0.32), 16 px of padding above: knife (0.5, 0.5, 0.5, 0.2) and lighter.
    expect(found.boxesA).toEqual([
      [0, 16, 28.8, 48, 35.2],
      [1, 12.8, 36.8, 19.2, 43.2],
    ]);
    expect(found.boxesB).toBe(0);
    expect(found.wrongShape).toMatch(/^refused: .*expected \(2, 64, 64, 3\)/);
  });
});
