import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Box } from '../../../config/shared/types.js';
import { evalCommand } from '../../../gateway/cli/eval.js';

/**
 * `parcelguard eval` end to end on a generated dataset and the yolov8 fixture graph
 * (models/fixtures/make_models.py), whose output is a known constant plus a "probe" powder box
 * scored by the mean red the model sees. Run at eval's low threshold (0.001), in model pixels, it
 * yields per image: A knife 0.90 (8,8,24,24); C gun 0.70 (9,9,25,25); G gun 0.60 (-4,50,10,70);
 * D powder 0.35 (40,40,56,60); E knife 0.45 (40,8,56,24); row I knife 0.45 (44,24,60,36) (its
 * best class at low thresholds); F gun 0.10 (30,30,34,34); probe powder (24,40,40,56) when red > 0.
 * B (knife 0.80 over A) is suppressed by NMS. Labels: knife threshold 0.5, gun 0.25 (default),
 * powder 0.3, so at the configured thresholds E, I and F drop out.
 *
 * Images: 64x64 (no letterbox: source = model pixels, clipped to 64) and 128x96 (scale 0.5, 8 px
 * of padding above and below: source = (model - [0, 8]) / 0.5), black or red. A 128x96 black image
 * still has a probe: its padding is grey 114, red included, so the probe scores 16*114/(64*255).
 */

const repoFile = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

interface Img {
  name: string;
  width: number;
  height: number;
  red: boolean;
}
const IMAGES: Img[] = [
  { name: 'a', width: 64, height: 64, red: false },
  { name: 'b', width: 64, height: 64, red: true },
  { name: 'c', width: 128, height: 96, red: false },
  { name: 'd', width: 128, height: 96, red: true },
];

/** What each image's detections are, in source pixels, as [label, box] (scores in the header). */
function truth(im: Img): Array<[string, Box]> {
  const small = im.width === 64;
  const src = (b: Box): Box =>
    small
      ? [Math.max(0, b[0]), b[1], b[2], Math.min(64, b[3])]
      : [Math.max(0, b[0] / 0.5), (b[1] - 8) / 0.5, b[2] / 0.5, Math.min(96, (b[3] - 8) / 0.5)];
  const boxes: Array<[string, Box]> = [
    ['knife', src([8, 8, 24, 24])], // A
    ['gun', src([9, 9, 25, 25])], // C
    ['gun', src([-4, 50, 10, 70])], // G
    ['powder', src([40, 40, 56, 60])], // D
  ];
  // The probe on a red image: 1.0 at 64x64, (48*255 + 16*114)/(64*255) = 0.862 at 128x96. The
  // 128x96 black image's probe (0.112) stays unlabelled: a false positive under every true one.
  if (im.red) boxes.push(['powder', src([24, 40, 40, 56])]);
  return boxes;
}

function yoloLine(cls: number, box: Box, w: number, h: number): string {
  const [x1, y1, x2, y2] = box;
  return `${cls} ${(x1 + x2) / 2 / w} ${(y1 + y2) / 2 / h} ${(x2 - x1) / w} ${(y2 - y1) / h}`;
}

/** A dataset of IMAGES labelled with `names`; `rename` maps fixture labels to the dataset's names. */
async function makeDataset(
  names: string[],
  rename: Record<string, string>,
  extra: Record<string, Array<[string, Box]>> = {},
): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'pg-eval-e2e-'));
  mkdirSync(join(root, 'images', 'val'), { recursive: true });
  mkdirSync(join(root, 'labels', 'val'), { recursive: true });
  writeFileSync(join(root, 'data.yaml'), stringifyYaml({ names, val: 'images/val' }));
  for (const im of IMAGES) {
    await sharp({
      create: {
        width: im.width,
        height: im.height,
        channels: 3,
        background: { r: im.red ? 255 : 0, g: 0, b: 0 },
      },
    })
      .png()
      .toFile(join(root, 'images', 'val', `${im.name}.png`));
    const lines = [...truth(im), ...(extra[im.name] ?? [])]
      .filter(([label]) => names.includes(rename[label] ?? label))
      .map(([label, box]) => yoloLine(names.indexOf(rename[label] ?? label), box, im.width, im.height));
    writeFileSync(join(root, 'labels', 'val', `${im.name}.txt`), `${lines.join('\n')}\n`);
  }
  return root;
}

/**
 * The set with errors of every kind: a: a knife nothing detects; c: a knife at E, found at 0.45 under
 * knife's 0.5; unlabelled, gun G on image b (on nothing) and gun C on image d (on knife A).
 */
async function makeErrorsDataset(): Promise<string> {
  const data = await makeDataset(
    ['knife', 'gun', 'powder'],
    {},
    { a: [['knife', [0, 40, 16, 56]]], c: [['knife', [80, 0, 112, 32]]] },
  );
  const drop = (image: string, line: number) => {
    const path = join(data, 'labels', 'val', `${image}.txt`);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    lines.splice(line, 1);
    writeFileSync(path, `${lines.join('\n')}\n`);
  };
  drop('b', 2); // G: truth() lists A, C, G, D (and the probe)
  drop('d', 1); // C
  return data;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await evalCommand(args, { out, err });
  return { code, out: out.text, err: err.text };
}

const LABELS = [
  { name: 'knife', category: 'prohibited', threshold: 0.5 },
  { name: 'gun', category: 'prohibited' },
  { name: 'powder', category: 'drug', threshold: 0.3 },
];

describe('parcelguard eval on the yolov8 fixture', () => {
  let configPath: string;
  let onnxPath: string;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-eval-cfg-'));
    const demo = parseYaml(readFileSync(repoFile('config/examples/demo.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const model = {
      name: 'fixture',
      version: 'fixture-1',
      path: repoFile('models/fixtures/yolov8_nchw_f32.onnx'),
      input: { width: 64, height: 64 },
      output: 'yolov8',
      labels: LABELS,
    };
    configPath = join(dir, 'site.yaml');
    writeFileSync(configPath, stringifyYaml({ ...demo, models: [model], xray: [] }));
    onnxPath = join(dir, 'fixture.onnx');
    copyFileSync(model.path, onnxPath);
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(LABELS));
  });

  it('a dataset labelled with exactly what the model finds scores 1.0, under other names via --map', async () => {
    const data = await makeDataset(
      ['Straight_Knife', 'Gun', 'powder', 'Hammer'],
      { knife: 'Straight_Knife', gun: 'Gun' },
      {
        a: [['Hammer', [30, 0, 40, 6]]],
      },
    );
    const r = await run([
      '--model',
      'fixture',
      '--config',
      configPath,
      '--data',
      data,
      '--map',
      'Straight_Knife=knife,Gun=gun',
      '--json',
      '--workers',
      '1',
    ]);
    expect(r.err).toBe(
      'note: dataset classes the model does not know (excluded; see --map): Hammer (1 boxes)\n',
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(Object.keys(json).sort()).toEqual(['images', 'imagesPerSec', 'map50', 'map5095', 'perClass']);
    expect(json).toMatchObject({ map50: 1, map5095: 1, images: 4 });
    expect(json.imagesPerSec).toBeGreaterThan(0);
    // Knife: 4 found at 0.9 (E and I at 0.45 rank below, and fall under knife's 0.5 for P/R).
    // Gun: C and G in every image (F at 0.10 ranks below, under 0.25). Powder: D in every image and
    // the probe on both red images (the 0.112 probe on image c ranks below and is under 0.3).
    expect(json.perClass).toEqual({
      knife: { ap50: 1, ap5095: 1, precision: 1, recall: 1, gt: 4 },
      gun: { ap50: 1, ap5095: 1, precision: 1, recall: 1, gt: 8 },
      powder: { ap50: 1, ap5095: 1, precision: 1, recall: 1, gt: 6 },
    });
  });

  it('a ground-truth box nothing detects lowers knife to AP 81/101, mAP to 283/303; table output', async () => {
    // Knife: 5 objects, the 4 found rank first (precision 1 up to recall 0.8), then only FPs: the
    // recall points 0.00..0.80 (81) take 1, the 20 above take 0: AP50 = AP50:95 = 81/101.
    // mAP = (81/101 + 1 + 1) / 3 = 283/303. Knife recall at 0.5: 4/5.
    const data = await makeDataset(['knife', 'gun', 'powder'], {}, { a: [['knife', [0, 40, 16, 56]]] });
    const json = await run(['--model', onnxPath, '--data', data, '--json', '--workers', '2']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out);
    expect(parsed.map50).toBeCloseTo(283 / 303, 12);
    expect(parsed.map5095).toBeCloseTo(283 / 303, 12);
    expect(parsed.perClass.knife.ap50).toBeCloseTo(81 / 101, 12);
    expect(parsed.perClass.knife).toMatchObject({ precision: 1, recall: 0.8, gt: 5 });

    // Resampling the four images: without image a (its missed knife) knife is perfect, with a twice
    // it is worse than 81/101; gun and powder are perfect in every resample.
    const boot = await run(['--model', onnxPath, '--data', data, '--json', '--bootstrap', '200']);
    const intervals = JSON.parse(boot.out).intervals;
    expect(intervals.resamples).toBe(200);
    expect(intervals.perClass.gun).toEqual([1, 1]);
    expect(intervals.perClass.knife[0]).toBeLessThan(81 / 101);
    expect(intervals.perClass.knife[1]).toBe(1);
    expect(intervals.map50[0]).toBeLessThan(283 / 303);

    const table = await run(['--model', onnxPath, '--data', data, '--limit', '2']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^class\s+AP50\s+AP50:95\s+P\s+R\s+GT\s+dets\s+thr$/m);
    // Images a and b only: knife 3 objects, 2 found first: AP = 67/101 = 0.663 (points 0..0.66).
    expect(table.out).toMatch(/^knife\s+0\.663\s+0\.663\s+1\.000\s+0\.667\s+3\s+2\s+0\.50$/m);
    expect(table.out).toMatch(/^gun\s+1\.000\s+1\.000\s+1\.000\s+1\.000\s+4\s+4\s+0\.25$/m);
    expect(table.out).toMatch(/2 image\(s\), [\d.]+ images\/s/);
  });

  it('a model label the dataset lacks has no AP and stays out of the mAP', async () => {
    const data = await makeDataset(['knife', 'gun'], {});
    // A corrupt image is reported and left out; the rest are still scored.
    writeFileSync(join(data, 'images', 'val', 'z.png'), 'not a png');
    const r = await run(['--model', onnxPath, '--data', data, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /1 image\(s\) could not be evaluated and are left out:\n {2}\S*z\.png: file is not a supported image/,
    );
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ map50: 1, images: 4 });
    expect(json.perClass.powder).toEqual({
      ap50: null,
      ap5095: null,
      precision: null,
      recall: null,
      gt: null,
    });
    const table = await run(['--model', onnxPath, '--data', data, '--limit', '1']);
    expect(table.out).toContain('model labels with no dataset class (not scored): powder');
  });

  it('--errors lists each false alarm and miss with its cause, and crops examples', async () => {
    const data = await makeErrorsDataset();
    const dir = join(mkdtempSync(join(tmpdir(), 'pg-eval-errors-')), 'errors');
    const r = await run(['--model', onnxPath, '--data', data, '--errors', dir, '--workers', '2']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      [
        'knife  false alarms: 0',
        '       misses:       2 (below-threshold 1, nothing 1)',
        'gun    false alarms: 2 (background 1, on-knife 1)',
        '       misses:       0',
        '(4 example crops)',
      ].join('\n'),
    );
    const json = JSON.parse(readFileSync(join(dir, 'errors.json'), 'utf8'));
    const image = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    expect(
      json.errors.map((e: { image: string; label: string; cause: string; score: number | null }) => [
        image(e.image),
        e.label,
        e.cause,
        e.score,
      ]),
    ).toEqual([
      ['a.png', 'knife', 'nothing', null],
      ['b.png', 'gun', 'background', expect.closeTo(0.6, 5)], // float32 scores
      ['c.png', 'knife', 'below-threshold', expect.closeTo(0.45, 5)],
      ['d.png', 'gun', 'on-knife', expect.closeTo(0.7, 5)],
    ]);
    expect(json.errors[3].box).toEqual([18, 2, 50, 34]); // C in d's source pixels
    for (const crop of [
      'knife/miss/nothing/a-at0-40.png',
      'knife/miss/below-threshold/c-at80-0-0.45.png',
      'gun/false-alarm/background/b-at0-50-0.60.png',
      'gun/false-alarm/on-knife/d-at18-2-0.70.png',
    ])
      expect((await sharp(join(dir, crop)).metadata()).format).toBe('png');

    // With --json, stdout stays one JSON object and the tally goes to stderr.
    const quiet = await run(['--model', onnxPath, '--data', data, '--errors', dir, '--json']);
    expect(quiet.code).toBe(0);
    expect(JSON.parse(quiet.out).perClass.gun.precision).toBeCloseTo(6 / 8, 12);
    expect(quiet.err).toContain('gun    false alarms: 2 (background 1, on-knife 1)');
  });

  it('--suggest-thresholds finds each label threshold for a goal and prints it as config', async () => {
    // The --errors set: knife 6 boxes, A found at 0.90 in all four images, E and I at 0.45 in all four
    // (E on c takes c's extra knife); gun 6 boxes (G dropped on b, C on d), C at 0.70, G at 0.60, F at
    // 0.10 everywhere. Scores are float32 (0.9 is 0.89999998, 0.45 is 0.44999999, 0.6 is 0.60000002),
    // and a threshold must not pass its score, so the grid steps are 0.899, 0.449 and 0.600.
    const data = await makeErrorsDataset();
    const r = await run(['--model', onnxPath, '--data', data, '--suggest-thresholds', 'precision=0.9']);
    expect(r.code).toBe(0);
    // Knife at its configured 0.5: 4 of 6 (P 1, R 0.667); 0.899 is the lowest step at P >= 0.9, as
    // 0.449 takes 12 detections for 5 boxes. Gun: P is 3/4 at 0.699 and 6/8 at 0.600, never 0.9.
    expect(r.out).toMatch(/^knife\s+6\s+0\.500\s+1\.000\s+0\.667\s+4\s+0\.899\s+1\.000\s+0\.667\s+4$/m);
    expect(r.out).toMatch(/^gun\s+6\s+0\.250\s+0\.750\s+1\.000\s+8\s+none$/m);
    expect(r.out).toContain('no threshold meets precision=0.9 for: gun');
    expect(r.out).toContain('  - { name: knife, threshold: 0.899 }');
    expect(r.out).not.toContain('name: gun,');

    const json = await run([
      '--model',
      onnxPath,
      '--data',
      data,
      '--suggest-thresholds',
      'recall=0.8',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const t = JSON.parse(json.out).thresholds;
    expect(t.goal).toBe('recall=0.8');
    expect(t.perClass.knife).toEqual({
      threshold: 0.449,
      precision: expect.closeTo(5 / 12, 12),
      recall: expect.closeTo(5 / 6, 12),
      detections: 12,
    });
    expect(t.perClass.gun).toMatchObject({ threshold: 0.6, precision: 0.75, recall: 1, detections: 8 });

    const bad = await run(['--model', onnxPath, '--data', data, '--suggest-thresholds', 'f1=0.5']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--suggest-thresholds: expected precision=P or recall=R/);
  });

  it('--compare scores a second model on the same images and gives each difference an interval', async () => {
    // The configured fixture against the same graph by path: the same detections, so every
    // difference is zero on every resample, and nothing is marked as more than noise.
    const data = await makeDataset(['knife', 'gun', 'powder'], {}, { a: [['knife', [0, 40, 16, 56]]] });
    const base = ['--model', 'fixture', '--config', configPath, '--data', data, '--workers', '1'];
    const r = await run([...base, '--compare', onnxPath, '--bootstrap', '100']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`compared with fixture (${onnxPath}) on the same images; 100 paired resamples:`);
    expect(r.out).toMatch(/^knife\s+0\.802\s+0\.802\s+\+0\.000\s+\+0\.000 … \+0\.000$/m);
    expect(r.out).toMatch(/^all \(mAP\)\s+0\.934\s+0\.934\s+\+0\.000\s+\+0\.000 … \+0\.000$/m);

    const json = await run([...base, '--compare', onnxPath, '--json']);
    const c = JSON.parse(json.out).comparison;
    expect(c).toMatchObject({ resamples: 1000, map50Delta: [0, 0], model: { path: onnxPath } });
    expect(c.map50).toBeCloseTo(283 / 303, 12);
    expect(c.perClass.knife).toEqual({ ap50: expect.closeTo(81 / 101, 12), delta: [0, 0] });

    const bad = await run([...base, '--compare', '/nonexistent/other.onnx']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('model file not found: /nonexistent/other.onnx');
  });

  it('exits 2 with a clear message on bad input', async () => {
    const data = await makeDataset(['knife'], {});
    const cases: Array<[string[], RegExp]> = [
      [['--model', onnxPath, '--data', '/nonexistent/set'], /dataset not found: \/nonexistent\/set/],
      [
        ['--model', 'nope', '--config', configPath, '--data', data],
        /unknown model "nope".*configured: fixture/,
      ],
      [
        ['--model', onnxPath, '--data', data, '--map', 'knife'],
        /--map: "knife" is not "dataset_class=model_label"/,
      ],
      [['--model', onnxPath, '--data', data, '--map', 'knife=sword'], /"sword" is not a model label/],
      [['--model', onnxPath], /--model and --data are required/],
      [['--model', onnxPath, '--data', data, '--limit', '0'], /--limit: expected a positive integer/],
      [['--model', onnxPath, '--data', data, '--bootstrap', 'x'], /--bootstrap: expected a positive integer/],
      [['--model', onnxPath, '--data', data, '--bogus'], /Unknown option '--bogus'/],
      [
        ['--model', 'fixture', '--config', configPath, '--data', data, '--dtype', 'uint8'],
        /only with --model PATH/,
      ],
      [
        ['--model', onnxPath, '--data', data, '--layout', 'nhwc'],
        /model "fixture".*expects float32 \[1,64,64,3\]/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    }
    const other = await makeDataset(['Hammer'], {}, { a: [['Hammer', [0, 0, 5, 5]]] });
    const r = await run(['--model', onnxPath, '--data', other]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'no dataset class matches a model label (dataset: Hammer; model: knife, gun, powder); use --map',
    );
  });
});
