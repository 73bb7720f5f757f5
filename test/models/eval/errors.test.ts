import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../../config/shared/types.js';
import type { EvalDetection } from '../../../models/eval/ap.js';
import { ErrorReport, formatTally } from '../../../models/eval/error-report.js';
import { causeName, imageErrors } from '../../../models/eval/errors.js';

const LABELS = ['knife', 'gun', 'lighter'];
const det = (cls: number, score: number, box: Box, counted = true): EvalDetection => ({
  cls,
  score,
  box,
  counted,
});
const names = (errs: ReturnType<typeof imageErrors>) =>
  errs.map((e) => `${e.type} ${LABELS[e.cls]} ${causeName(e, LABELS)}`).sort();

describe('imageErrors', () => {
  it('finds nothing wrong when every object is found once', () => {
    const gt = [
      { cls: 0, box: [0, 0, 10, 10] as Box },
      { cls: 1, box: [20, 20, 40, 40] as Box },
    ];
    expect(imageErrors(gt, [det(0, 0.9, [0, 0, 10, 10]), det(1, 0.8, [21, 21, 40, 40])], 3)).toEqual([]);
  });

  it('names each false alarm by what it lies on', () => {
    const gt = [
      { cls: 0, box: [0, 0, 10, 10] as Box },
      { cls: 1, box: [50, 50, 70, 70] as Box },
    ];
    const errs = imageErrors(
      gt,
      [
        det(0, 0.9, [0, 0, 10, 10]), // hit
        det(0, 0.7, [0, 0, 10, 9]), // the same knife again: IoU 0.9
        det(0, 0.6, [5, 0, 15, 10]), // IoU 50/150 = 0.33 with the knife, nothing left to take
        det(0, 0.5, [52, 50, 72, 70]), // on the gun (IoU 0.82), no knife near
        det(2, 0.4, [100, 100, 110, 110]), // on nothing
        det(1, 0.8, [50, 50, 70, 70]), // hit
      ],
      3,
    );
    expect(names(errs)).toEqual([
      'false-alarm knife duplicate',
      'false-alarm knife mislocated',
      'false-alarm knife on-gun',
      'false-alarm lighter background',
    ]);
    const onGun = errs.find((e) => e.type === 'false-alarm' && e.cause.kind === 'other-class');
    expect(onGun).toMatchObject({
      score: 0.5,
      box: [52, 50, 72, 70],
      cause: { kind: 'other-class', cls: 1 },
    });
  });

  it('names each miss by what was found there, counted detections first', () => {
    const gt = [
      { cls: 2, box: [0, 0, 10, 10] as Box }, // reported as a gun
      { cls: 2, box: [20, 0, 30, 10] as Box }, // a lighter box half off
      { cls: 2, box: [40, 0, 50, 10] as Box }, // a lighter under threshold (0.2), and a weaker one
      { cls: 2, box: [60, 0, 70, 10] as Box }, // only a gun under its threshold on it
      { cls: 0, box: [0, 50, 10, 60] as Box }, // nothing at all
    ];
    const errs = imageErrors(
      gt,
      [
        det(1, 0.9, [0, 0, 10, 10]),
        det(2, 0.05, [0, 0, 10, 10], false),
        det(2, 0.6, [24, 0, 34, 10]),
        det(2, 0.1, [40, 0, 50, 10], false),
        det(2, 0.2, [40, 0, 50, 11], false),
        det(1, 0.2, [60, 0, 70, 10], false),
      ],
      3,
    );
    const misses = errs.filter((e) => e.type === 'miss');
    expect(misses.map((e) => [e.box[0], e.box[1], causeName(e, LABELS)])).toEqual([
      [0, 50, 'nothing'],
      [0, 0, 'as-gun'],
      [20, 0, 'mislocated'],
      [40, 0, 'below-threshold'],
      [60, 0, 'nothing'],
    ]);
    expect(misses[3]?.cause).toEqual({ kind: 'below-threshold', score: 0.2 });
    // The two counted detections that took no lighter are false alarms as well.
    expect(names(errs.filter((e) => e.type === 'false-alarm'))).toEqual([
      'false-alarm gun on-lighter',
      'false-alarm lighter mislocated',
    ]);
  });

  it('leaves labels outside the scored set alone', () => {
    const dets = [det(0, 0.9, [0, 0, 10, 10]), det(2, 0.9, [30, 30, 40, 40])];
    expect(names(imageErrors([], dets, 3, new Set([0, 1])))).toEqual(['false-alarm knife background']);
  });
});

describe('ErrorReport', () => {
  const view = async () => {
    const { data, info } = await sharp({
      create: { width: 200, height: 100, channels: 3, background: { r: 10, g: 200, b: 30 } },
    })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { rgb: data, width: info.width, height: info.height };
  };
  const alarm = (score: number, box: Box) =>
    imageErrors([], [det(1, score, box)], 3) as ReturnType<typeof imageErrors>;

  it('keeps every error and the crops of the first images, whatever order they come in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-errors-'));
    const report = new ErrorReport(LABELS, 2);
    const v = await view();
    // Added out of order, as concurrent workers finish: images 3, 1, 2, 0.
    await report.add(3, '/d/images/s3.png', v, alarm(0.3, [10, 10, 20, 20]));
    await report.add(1, '/d/images/s1.png', v, alarm(0.5, [150, 60, 200, 100]));
    await report.add(2, '/d/images/s2.png', v, alarm(0.4, [0, 0, 10, 10]));
    await report.add(0, '/d/images/s0.png', v, alarm(0.6, [90, 40, 110, 60]));
    expect(report.tally()).toEqual([
      { label: 'knife', falseAlarms: {}, misses: {} },
      { label: 'gun', falseAlarms: { background: 4 }, misses: {} },
      { label: 'lighter', falseAlarms: {}, misses: {} },
    ]);
    expect(await report.write(dir)).toBe(2);
    const crops = join(dir, 'gun', 'false-alarm', 'background');
    expect(readdirSync(crops).sort()).toEqual(['s0-at90-40-0.60.png', 's1-at150-60-0.50.png']);
    // Context of half the box, at least 24 px, clipped to the image: a 50x40 box at (150, 60) gets 25
    // px across and 24 down, so (125, 36) to (200, 100); a 20x20 one 24 px all round.
    expect(await sharp(join(crops, 's1-at150-60-0.50.png')).metadata()).toMatchObject({
      width: 75,
      height: 64,
    });
    expect(await sharp(join(crops, 's0-at90-40-0.60.png')).metadata()).toMatchObject({
      width: 68,
      height: 68,
    });
    const json = JSON.parse(readFileSync(join(dir, 'errors.json'), 'utf8'));
    expect(json.errors.map((e: { image: string; score: number }) => [e.image, e.score])).toEqual([
      ['/d/images/s0.png', 0.6],
      ['/d/images/s1.png', 0.5],
      ['/d/images/s2.png', 0.4],
      ['/d/images/s3.png', 0.3],
    ]);
    expect(json.errors[0]).toEqual({
      image: '/d/images/s0.png',
      label: 'gun',
      type: 'false-alarm',
      cause: 'background',
      box: [90, 40, 110, 60],
      score: 0.6,
    });
    expect(formatTally(report.tally(), dir)).toBe(
      [
        `errors at the configured thresholds (every one in ${join(dir, 'errors.json')}, examples in ${dir}/<label>/):`,
        'gun  false alarms: 4 (background 4)',
        '     misses:       0',
      ].join('\n'),
    );
  });
});
