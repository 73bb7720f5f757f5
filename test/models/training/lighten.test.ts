import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * The training recipe's neck swap (models/training/lighten.py): a trained detector's stride-4 neck
 * becomes depthwise-separable and learns to reproduce the original's features, while every other weight
 * stays as trained, so the fine-tune that follows starts from the trained trunk. Needs Debian's
 * python3-torch like the rest of the recipe; CI does not install it, so there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('lightening the stride-4 neck (needs python3-torch)', () => {
  it('swaps only the neck, teaches it the original features, and refuses a second swap', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'lighten_check.py'), 180_000);
    expect(found.log).toMatch(/^wrote .*light\.pt after \d+ steps$/);
    expect(found.fullS4).toBe(false);
    expect(found.lightS4).toBe(true);
    expect(found.trunkUnchanged).toBe(true);
    expect(found.paramsLight as number).toBeLessThan(found.paramsFull as number);
    // 200 steps of teaching on six scans (steps, not seconds, so a busy machine does the same work)
    // must at least halve an untaught neck's error.
    expect(found.errorTaught as number).toBeLessThan((found.errorFresh as number) / 2);
    expect(found.again).toMatch(/^exit 1: .*already has the depthwise-separable stride-4 neck/);
  });
});
