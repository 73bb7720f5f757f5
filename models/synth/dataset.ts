/**
 * YOLO-format dataset writer: images/NAME.jpg, labels/NAME.txt (one `cls cx cy w h` line per box,
 * normalised to the image, empty for a clean parcel) and data.yaml. Scan i uses a seed derived from
 * (seed, i), so any image can be regenerated on its own and a dataset extends without changing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_HEIGHT, encodeJpeg, encodePng, generateScan, type SynthView } from './index.js';
import { deriveSeed } from './random.js';
import { CLASSES } from './threats.js';

export interface DatasetOptions {
  out: string;
  count: number;
  seed: number;
  dualView?: boolean;
  height?: number;
  format?: 'jpg' | 'png';
  /** JPEG quality (default 90). */
  quality?: number;
  threatRate?: { prohibited: number; drug: number };
  classes?: ReadonlyArray<string | number>;
  /** Called after each scan is written, with the number written so far. */
  onProgress?: (done: number) => void;
}

export interface DatasetResult {
  scans: number;
  images: number;
  boxes: number;
  seconds: number;
  imagesPerSec: number;
}

/** YOLO label lines for one view: class, centre and size, normalised; six decimals. */
export function yoloLabels(view: Pick<SynthView, 'width' | 'height' | 'boxes'>): string {
  let s = '';
  for (const b of view.boxes) {
    const cx = (b.x1 + b.x2) / 2 / view.width;
    const cy = (b.y1 + b.y2) / 2 / view.height;
    const w = (b.x2 - b.x1) / view.width;
    const h = (b.y2 - b.y1) / view.height;
    s += `${b.cls} ${cx.toFixed(6)} ${cy.toFixed(6)} ${w.toFixed(6)} ${h.toFixed(6)}\n`;
  }
  return s;
}

/** data.yaml in the Ultralytics layout; train and val both point at the one image folder. */
export function dataYaml(dir: string, note = ''): string {
  const names = CLASSES.map((c) => `'${c}'`).join(', ');
  return [
    ...(note ? [`# ${note}`] : []),
    `path: ${JSON.stringify(resolve(dir))}`,
    'train: images',
    'val: images',
    `nc: ${CLASSES.length}`,
    `names: [${names}]`,
    '',
  ].join('\n');
}

/** Image file stem for scan i and a view: `000042` or `000042_top`. */
export function stem(index: number, view: string, dual: boolean): string {
  const n = String(index).padStart(6, '0');
  return dual ? `${n}_${view}` : n;
}

/**
 * The data.yaml header line, which training copies into a model card: it names every option that
 * changes the scans, so a card can say, e.g., which of two training sets was threat-dense.
 */
function describeDataset(o: DatasetOptions): string {
  const parts = [`parcelguard synth: ${o.count} scans`, `seed ${o.seed}`];
  if (o.dualView) parts.push('dual view');
  if (o.height !== undefined && o.height !== DEFAULT_HEIGHT) parts.push(`${o.height} high`);
  if (o.threatRate) parts.push(`threat rate ${o.threatRate.prohibited},${o.threatRate.drug}`);
  if (o.classes) parts.push(`classes ${o.classes.join(',')}`);
  return parts.join(', ');
}

export async function writeDataset(o: DatasetOptions): Promise<DatasetResult> {
  const images = join(o.out, 'images');
  const labels = join(o.out, 'labels');
  await mkdir(images, { recursive: true });
  await mkdir(labels, { recursive: true });
  const format = o.format ?? 'jpg';
  const dual = o.dualView ?? false;
  const started = performance.now();
  let written = 0;
  let boxes = 0;
  // Rendering is synchronous; encoding and writing run in libuv's pool. A few scans in flight let
  // them overlap with the next render on machines with more than one core, and bound memory.
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < o.count; i++) {
    const scan = generateScan({
      seed: deriveSeed(o.seed, i),
      dualView: dual,
      ...(o.height !== undefined ? { height: o.height } : {}),
      ...(o.threatRate ? { threatRate: o.threatRate } : {}),
      ...(o.classes ? { classes: o.classes } : {}),
    });
    const job = (async () => {
      for (const v of scan.views) {
        const name = stem(i, v.view, dual);
        const bytes = format === 'png' ? await encodePng(v) : await encodeJpeg(v, o.quality ?? 90);
        await writeFile(join(images, `${name}.${format}`), bytes);
        await writeFile(join(labels, `${name}.txt`), yoloLabels(v));
        boxes += v.boxes.length;
        written++;
      }
      o.onProgress?.(i + 1);
    })();
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await writeFile(join(o.out, 'data.yaml'), dataYaml(o.out, describeDataset(o)));
  const seconds = (performance.now() - started) / 1000;
  return { scans: o.count, images: written, boxes, seconds, imagesPerSec: written / Math.max(seconds, 1e-9) };
}
