import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The training recipe's growth step (models/training/net.py): a trained checkpoint loaded into a network
 * with more residual blocks must compute exactly what it did, or resuming a deeper run would start from
 * a damaged model. The recipe needs Debian's python3-torch, which CI does not install (it does not
 * train), so there this file reports itself skipped rather than passing without checking anything.
 */
const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasTorch)('growing a detector by identity blocks (needs python3-torch)', () => {
  it('keeps the outputs, lets the added blocks learn, and refuses to shrink or mismatch', () => {
    const out = execFileSync(PY, [join(import.meta.dirname, 'grow_check.py')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const found = JSON.parse(out) as Record<string, unknown>;
    expect(found.depthSaved).toEqual([1, 2, 1]);
    expect(found.depthGrown).toEqual([2, 3, 2]);
    expect(found.paramsGrown as number).toBeGreaterThan(found.paramsSmall as number);
    expect(found.maxOutputDiff as number).toBeLessThan(1e-6);
    expect(found.addedScaleGrad as number).toBeGreaterThan(0);
    expect(found.shrink).toMatch(/^refused: .*cannot shrink/);
    expect(found.wrongClasses).toMatch(/^refused: /);
  });
});
