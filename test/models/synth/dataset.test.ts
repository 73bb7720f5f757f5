import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { synth } from '../../../gateway/cli/synth.js';
import { dataYaml, writeDataset, yoloLabels } from '../../../models/synth/dataset.js';
import { CLASSES } from '../../../models/synth/index.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pg-synth-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function capture() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { s, text: () => text };
}

const LINE = /^(\d) (0|1|0\.\d{6}|1\.0{6}) (0\.\d{6}|1\.0{6}) (0\.\d{6}|1\.0{6}) (0\.\d{6}|1\.0{6})$/;

describe('YOLO dataset writer', () => {
  it('writes normalised cls cx cy w h lines, one per box', () => {
    const text = yoloLabels({
      width: 800,
      height: 400,
      boxes: [
        { cls: 1, label: 'knife', x1: 100, y1: 40, x2: 300, y2: 120 },
        { cls: 8, label: 'drug-powder', x1: 0, y1: 0, x2: 800, y2: 400 },
      ],
    });
    expect(text).toBe('1 0.250000 0.200000 0.250000 0.200000\n8 0.500000 0.500000 1.000000 1.000000\n');
    expect(yoloLabels({ width: 10, height: 10, boxes: [] })).toBe('');
  });

  it('writes data.yaml with the class list in index order', () => {
    const y = dataYaml('/data/set');
    expect(y).toContain('path: "/data/set"');
    expect(y).toContain('train: images');
    expect(y).toContain('val: images');
    expect(y).toContain(`nc: ${CLASSES.length}`);
    expect(y).toContain(`names: [${CLASSES.map((c) => `'${c}'`).join(', ')}]`);
  });

  it('writes images and matching label files, empty labels for clean parcels', async () => {
    const out = tmp();
    const r = await writeDataset({ out, count: 6, seed: 11, dualView: true, format: 'png', height: 256 });
    expect(r.scans).toBe(6);
    expect(r.images).toBe(12);
    const images = readdirSync(join(out, 'images')).sort();
    const labels = readdirSync(join(out, 'labels')).sort();
    expect(images).toHaveLength(12);
    expect(images[0]).toBe('000000_side.png');
    expect(labels).toEqual(images.map((f) => f.replace(/\.png$/, '.txt')));
    let boxes = 0;
    for (const f of labels) {
      const text = readFileSync(join(out, 'labels', f), 'utf8');
      const lines = text.split('\n').filter(Boolean);
      boxes += lines.length;
      for (const l of lines) expect(l).toMatch(LINE);
      if (lines.length === 0) expect(text).toBe('');
    }
    expect(boxes).toBe(r.boxes);
    const meta = await sharp(join(out, 'images', images[0]!)).metadata();
    expect(meta.height).toBe(256);
    expect(meta.format).toBe('png');
  });

  it('names a class subset in the data.yaml header', async () => {
    const out = tmp();
    await writeDataset({ out, count: 1, seed: 2, height: 128, classes: ['knife', 'lighter'] });
    expect(readFileSync(join(out, 'data.yaml'), 'utf8')).toContain(
      '# parcelguard synth: 1 scans, seed 2, 128 high, classes knife,lighter\n',
    );
  });
});

describe('parcelguard synth', () => {
  it('writes a five-scan dataset and reports images/s', async () => {
    const out = tmp();
    const o = capture();
    const e = capture();
    const code = await synth(['--out', out, '--count', '5', '--seed', '3'], { out: o.s, err: e.s });
    expect(e.text()).toBe('');
    expect(code).toBe(0);
    expect(o.text()).toMatch(/wrote 5 images \(5 scans, \d+ boxes\) to .* images\/s/);
    expect(readdirSync(join(out, 'images')).filter((f) => f.endsWith('.jpg'))).toHaveLength(5);
    expect(readdirSync(join(out, 'labels'))).toHaveLength(5);
    expect(readFileSync(join(out, 'data.yaml'), 'utf8')).toContain('nc: 9');
    expect(readFileSync(join(out, 'data.yaml'), 'utf8')).toContain('# parcelguard synth: 5 scans, seed 3\n');
    const meta = await sharp(join(out, 'images', '000000.jpg')).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.height).toBe(640);

    // Same seed, same bytes.
    const again = tmp();
    expect(await synth(['--out', again, '--count', '2', '--seed', '3'], { out: o.s, err: e.s })).toBe(0);
    for (const f of ['000000.jpg', '000001.jpg'])
      expect(readFileSync(join(again, 'images', f)).equals(readFileSync(join(out, 'images', f)))).toBe(true);
  });

  it('names the options that change the scans in the data.yaml header, which model cards quote', async () => {
    const out = tmp();
    const args = [
      '--out',
      out,
      '--count',
      '1',
      '--seed',
      '4',
      '--threat-rate',
      '0.9,0.85',
      '--height',
      '128',
    ];
    expect(await synth(args, { out: capture().s, err: capture().s })).toBe(0);
    expect(readFileSync(join(out, 'data.yaml'), 'utf8')).toContain(
      '# parcelguard synth: 1 scans, seed 4, 128 high, threat rate 0.9,0.85\n',
    );
  });

  it('refuses bad usage with exit code 2 and the usage text', async () => {
    for (const args of [
      ['--count', '5', '--seed', '1'],
      ['--out', '/tmp/x', '--count', 'five', '--seed', '1'],
      ['--out', '/tmp/x', '--count', '5', '--seed', '1', '--format', 'gif'],
      ['--out', '/tmp/x', '--count', '5', '--seed', '1', '--height', '10'],
      ['--out', '/tmp/x', '--count', '5', '--seed', '1', '--bogus'],
    ]) {
      const e = capture();
      expect(await synth(args, { out: capture().s, err: e.s })).toBe(2);
      expect(e.text()).toContain('usage: parcelguard synth');
    }
  });
});
