/**
 * Degraded copies of a YOLO dataset, for the model cards' robustness figures: how mAP falls when
 * images are blurrier, noisier or flatter than the generator's. Labels are copied unchanged.
 *
 *   node --import tsx models/training/degrade.ts --data DIR --out DIR [--kinds blur,noise,contrast]
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { prng } from '../synth/random.js';

export type Degradation = 'blur' | 'noise' | 'contrast';

/** Deterministic per image (seeded by its index), so the robustness figures are reproducible. */
export async function degrade(image: Buffer, kind: Degradation, seed: number): Promise<Buffer> {
  const img = sharp(image).removeAlpha();
  if (kind === 'blur') return img.blur(2.0).jpeg({ quality: 90 }).toBuffer();
  if (kind === 'contrast')
    return img
      .linear(0.55, 0.45 * 255 * 0.9)
      .jpeg({ quality: 90 })
      .toBuffer();
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const rand = prng(seed);
  for (let i = 0; i < data.length; i++) {
    // Sum of uniforms ≈ Gaussian, σ ≈ 14 grey levels: a noisy detector or a cheap encoder.
    const g = (rand() + rand() + rand() + rand() - 2) * 24;
    data[i] = Math.max(0, Math.min(255, Math.round(data[i]! + g)));
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      kinds: { type: 'string', default: 'blur,noise,contrast' },
    },
  });
  if (!values.data || !values.out)
    throw new Error('usage: degrade.ts --data DIR --out DIR [--kinds blur,noise,contrast]');
  const files = readdirSync(join(values.data, 'images')).sort();
  for (const kind of values.kinds!.split(',') as Degradation[]) {
    const out = join(values.out, kind);
    mkdirSync(join(out, 'images'), { recursive: true });
    mkdirSync(join(out, 'labels'), { recursive: true });
    // data.yaml names its image root in `path:`; the copy must point at the degraded images, not the
    // originals, and absolutely: readers resolve a relative `path:` against the yaml's own folder.
    const yaml = readFileSync(join(values.data, 'data.yaml'), 'utf8').replace(
      /^path:.*$/m,
      `path: ${JSON.stringify(resolve(out))}`,
    );
    writeFileSync(join(out, 'data.yaml'), yaml);
    for (const [i, f] of files.entries()) {
      const stem = f.replace(/\.[^.]+$/, '');
      const degraded = await degrade(readFileSync(join(values.data, 'images', f)), kind, i + 1);
      writeFileSync(join(out, 'images', `${stem}.jpg`), degraded);
      try {
        copyFileSync(join(values.data, 'labels', `${stem}.txt`), join(out, 'labels', `${stem}.txt`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // an image without labels is a clean parcel
      }
    }
    console.log(`${kind}: ${files.length} images → ${out}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
