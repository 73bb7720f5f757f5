import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFromOnnx } from '../../models/eval/model.js';
import { writeDataset } from '../../models/synth/dataset.js';
import { evaluate } from '../../models/training/card.js';

/**
 * Each shipped detector must still reach its card's figure on a regenerated held-out subset. The set,
 * the model and the pipeline are deterministic, so the tolerance only absorbs floating-point noise
 * across CPUs: a broken decoder, letterbox or generator change shows up as a clear miss.
 */
const REPO = join(import.meta.dirname, '../..');
const SHIPPED = ['prohibited', 'drugs'];
const tmp = mkdtempSync(join(tmpdir(), 'pg-shipped-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface CardCi {
  name: string;
  version: string;
  ci: { count: number; seed: number; map50: number; map5095: number; tolerance: number };
}

describe('shipped detectors reach their model cards', () => {
  it('every shipped detector has a model file, labels and a card', () => {
    for (const name of SHIPPED) {
      for (const f of ['model.onnx', 'labels.json', 'card.json', 'MODEL.md'])
        expect(existsSync(join(REPO, 'models', name, f)), `${name}/${f}`).toBe(true);
    }
  });

  for (const name of SHIPPED) {
    const cardPath = join(REPO, 'models', name, 'card.json');
    it.skipIf(!existsSync(cardPath))(
      `${name}: mAP50 on the regenerated CI set matches the card`,
      { timeout: 120_000 },
      async () => {
        const card = JSON.parse(readFileSync(cardPath, 'utf8')) as CardCi;
        const data = join(tmp, name);
        await writeDataset({ out: data, count: card.ci.count, seed: card.ci.seed });
        const model = {
          ...(await modelFromOnnx(join(REPO, 'models', name, 'model.onnx'))),
          name,
          version: card.version,
        };
        const report = await evaluate(model, data);
        expect(report.images).toBe(card.ci.count);
        expect(Math.abs((report.map50 ?? 0) - card.ci.map50)).toBeLessThanOrEqual(card.ci.tolerance);
        expect(Math.abs((report.map5095 ?? 0) - card.ci.map5095)).toBeLessThanOrEqual(card.ci.tolerance);
      },
    );
  }
});
