import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * The training recipe's growth step (models/training/net.py): a trained checkpoint loaded into a network
 * with more residual blocks must compute exactly what it did, or resuming a deeper run would start from
 * a damaged model. The recipe needs Debian's python3-torch, which CI does not install (it does not
 * train), so there this file reports itself skipped rather than passing without checking anything.
 */
describe.skipIf(!hasTorch)('growing a detector by identity blocks (needs python3-torch)', () => {
  it('keeps the outputs, lets the added blocks learn, and refuses to shrink or mismatch', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'grow_check.py'), 120_000);
    expect(found.depthSaved).toEqual([1, 2, 1]);
    expect(found.depthGrown).toEqual([2, 3, 2]);
    expect(found.paramsGrown as number).toBeGreaterThan(found.paramsSmall as number);
    expect(found.maxOutputDiff as number).toBeLessThan(1e-6);
    expect(found.addedScaleGrad as number).toBeGreaterThan(0);
    expect(found.shrink).toMatch(/^refused: .*cannot shrink/);
    expect(found.wrongClasses).toMatch(/^refused: /);
  });
});
