import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../config/shared/types.js';
import { causeName, type ImageError, imageErrors } from './errors.js';
import type { ScoredImage } from './run.js';

/**
 * Collects `parcelguard eval --errors DIR` (and the model card's error table): every false alarm and
 * miss at the configured thresholds in DIR/errors.json, and for each label, kind and cause a few crops
 * to look at, in
 * DIR/<label>/<false-alarm|miss>/<cause>/. The list is complete; the crops are examples, the ones
 * from the first images in dataset order, so two runs over the same data show the same ones however
 * the workers interleave.
 */

/** Context around a crop's box, as a share of the box's size, and at least this many pixels. */
const CONTEXT = 0.5;
const MIN_CONTEXT_PX = 24;

export interface ErrorEntry {
  image: string;
  label: string;
  type: ImageError['type'];
  cause: string;
  /** [x1, y1, x2, y2] in source pixels. */
  box: Box;
  /** The detection's score (false alarm) or the best score under threshold (miss found too weakly). */
  score: number | null;
}

export interface ErrorTally {
  label: string;
  falseAlarms: Record<string, number>;
  misses: Record<string, number>;
}

interface Crop {
  order: number;
  path: string;
  png: Buffer;
}

export class ErrorReport {
  private readonly entries: Array<ErrorEntry & { order: number }> = [];
  private readonly crops = new Map<string, Crop[]>();

  /** With `cropsPerCause` 0 it only counts (the model card's use). */
  constructor(
    private readonly labels: readonly string[],
    private readonly cropsPerCause = 12,
  ) {}

  /** runEval's onImage hook feeding this report; only labels in `scored` (those the dataset has) are judged. */
  collect(scored: ReadonlySet<number>): (s: ScoredImage) => Promise<void> {
    return (s) =>
      this.add(s.order, s.image.path, s.view, imageErrors(s.gt, s.dets, this.labels.length, scored));
  }

  /** One image's errors; `order` is its place in the dataset (crops are chosen by it). */
  async add(
    order: number,
    imagePath: string,
    view: ScoredImage['view'],
    errors: readonly ImageError[],
  ): Promise<void> {
    const stem = basename(imagePath, extname(imagePath));
    for (const e of errors) {
      const label = this.labels[e.cls] ?? String(e.cls);
      const cause = causeName(e, this.labels);
      const score =
        e.type === 'false-alarm' ? e.score : e.cause.kind === 'below-threshold' ? e.cause.score : null;
      this.entries.push({ order, image: imagePath, label, type: e.type, cause, box: e.box, score });
      const key = join(label, e.type, cause);
      if (!this.wants(key, order)) continue;
      const png = await crop(view, e.box);
      // Images are added concurrently: another may have filled the place while this crop was made.
      if (!this.wants(key, order)) continue;
      const kept = this.crops.get(key) ?? [];
      // Where the box starts keeps two errors of one cause in one image apart.
      const at = `at${Math.round(e.box[0])}-${Math.round(e.box[1])}`;
      const name = `${stem}-${at}${score === null ? '' : `-${score.toFixed(2)}`}.png`;
      kept.push({ order, path: join(key, name), png });
      kept.sort((a, b) => a.order - b.order);
      this.crops.set(key, kept.slice(0, this.cropsPerCause));
    }
  }

  private wants(key: string, order: number): boolean {
    const kept = this.crops.get(key) ?? [];
    return kept.length < this.cropsPerCause || kept.some((c) => c.order > order);
  }

  tally(): ErrorTally[] {
    return this.labels.map((label) => {
      const t: ErrorTally = { label, falseAlarms: {}, misses: {} };
      for (const e of this.entries) {
        if (e.label !== label) continue;
        const into = e.type === 'false-alarm' ? t.falseAlarms : t.misses;
        into[e.cause] = (into[e.cause] ?? 0) + 1;
      }
      return t;
    });
  }

  /** Writes errors.json and the crops into `dir`; returns the number of crops written. */
  async write(dir: string): Promise<number> {
    await mkdir(dir, { recursive: true });
    const errors = [...this.entries].sort((a, b) => a.order - b.order).map(({ order: _, ...e }) => e);
    await writeFile(
      join(dir, 'errors.json'),
      `${JSON.stringify({ tally: this.tally(), errors }, null, 1)}\n`,
    );
    let n = 0;
    for (const list of this.crops.values()) {
      for (const c of list) {
        const path = join(dir, c.path);
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, c.png);
        n++;
      }
    }
    return n;
  }
}

async function crop(view: ScoredImage['view'], box: Box): Promise<Buffer> {
  const [x1, y1, x2, y2] = box;
  const padX = Math.max(MIN_CONTEXT_PX, (x2 - x1) * CONTEXT);
  const padY = Math.max(MIN_CONTEXT_PX, (y2 - y1) * CONTEXT);
  const left = Math.max(0, Math.floor(x1 - padX));
  const top = Math.max(0, Math.floor(y1 - padY));
  const right = Math.min(view.width, Math.ceil(x2 + padX));
  const bottom = Math.min(view.height, Math.ceil(y2 + padY));
  return sharp(view.rgb, { raw: { width: view.width, height: view.height, channels: 3 } })
    .extract({ left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) })
    .png()
    .toBuffer();
}

/** "46 (background 35, mislocated 6, on-gun 1)": the total, then causes most frequent first. */
export function causeList(r: Readonly<Record<string, number>>): string {
  const total = Object.values(r).reduce((a, b) => a + b, 0);
  if (total === 0) return '0';
  const parts = Object.entries(r)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${v}`);
  return `${total} (${parts.join(', ')})`;
}

/** The tally as text: one line per label with errors. */
export function formatTally(tally: readonly ErrorTally[], dir: string): string {
  const shown = tally.filter((t) => Object.keys(t.falseAlarms).length + Object.keys(t.misses).length > 0);
  const width = Math.max(0, ...shown.map((t) => t.label.length));
  const lines = shown.flatMap((t) => [
    `${t.label.padEnd(width)}  false alarms: ${causeList(t.falseAlarms)}`,
    `${''.padEnd(width)}  misses:       ${causeList(t.misses)}`,
  ]);
  return [
    `errors at the configured thresholds (every one in ${join(dir, 'errors.json')}, examples in ${dir}/<label>/):`,
    ...(lines.length > 0 ? lines : ['none']),
  ].join('\n');
}
