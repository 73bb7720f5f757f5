import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EvalUsageError,
  labelPathFor,
  parseLabels,
  readDataset,
  toPixelBoxes,
} from '../../../models/eval/dataset.js';

/** Dataset reading needs files, not pixels: images here are empty files with image names. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pg-eval-ds-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const rel = (root: string, paths: string[]) => paths.map((p) => p.slice(root.length + 1));

describe('YOLO dataset reading', () => {
  it('data.yaml with a names list and a val folder; a missing label file means no objects', async () => {
    const root = tree({
      'data.yaml': 'names: [knife, gun]\nval: images/val\ntrain: images/train\n',
      'images/val/b.png': '',
      'images/val/a.jpg': '',
      'images/val/notes.txt': 'not an image',
      'images/train/t.jpg': '',
      'labels/val/a.txt': '0 0.5 0.5 0.2 0.4\n\n1 0.25 0.25 0.1 0.1\n',
    });
    const ds = await readDataset(root);
    expect(ds).toMatchObject({ split: 'val', names: ['knife', 'gun'], source: join(root, 'data.yaml') });
    expect(
      rel(
        root,
        ds.images.map((i) => i.path),
      ),
    ).toEqual(['images/val/a.jpg', 'images/val/b.png']);
    expect(ds.images[0]).toMatchObject({
      labelled: true,
      labelPath: join(root, 'labels/val/a.txt'),
      objects: [
        { cls: 0, cx: 0.5, cy: 0.5, w: 0.2, h: 0.4 },
        { cls: 1, cx: 0.25, cy: 0.25, w: 0.1, h: 0.1 },
      ],
    });
    expect(ds.images[1]).toMatchObject({ labelled: false, objects: [] });
    // --split picks another split; a split the yaml lacks is an error naming those it has.
    expect(
      rel(
        root,
        (await readDataset(root, { split: 'train' })).images.map((i) => i.path),
      ),
    ).toEqual(['images/train/t.jpg']);
    await expect(readDataset(root, { split: 'test' })).rejects.toThrow(/no split "test" \(has: val, train\)/);
  });

  it('data.yaml with a names map, `path`, and a .txt image list; the yaml file itself may be given', async () => {
    const root = tree({
      'cfg/data.yaml': 'path: ../set\nnames:\n  0: Straight_Knife\n  2: Gun\nval: val.txt\n',
      'set/val.txt': 'images/x.bmp\n./images/y.tif\n',
      'set/images/x.bmp': '',
      'set/images/y.tif': '',
      'set/labels/y.txt': '2 0.5 0.5 1 1\n',
    });
    const ds = await readDataset(join(root, 'cfg/data.yaml'));
    expect(ds.names).toEqual(['Straight_Knife', '1', 'Gun']); // the gap filled with its index
    expect(
      rel(
        root,
        ds.images.map((i) => i.path),
      ),
    ).toEqual(['set/images/x.bmp', 'set/images/y.tif']);
    expect(ds.images.map((i) => i.objects.length)).toEqual([0, 1]);
  });

  it("data.yaml with names only (the synth's layout) and Roboflow's ../valid/images", async () => {
    const synth = tree({
      'data.yaml': 'names: [knife]\n',
      'images/p1.png': '',
      'labels/p1.txt': '0 .5 .5 .1 .1',
    });
    expect(await readDataset(synth)).toMatchObject({
      split: null,
      names: ['knife'],
      images: [{ labelled: true }],
    });
    const rf = tree({
      'data.yaml': 'names: [a]\ntrain: ../train/images\nval: ../valid/images\n',
      'valid/images/v.jpg': '',
    });
    expect(
      rel(
        rf,
        (await readDataset(rf)).images.map((i) => i.path),
      ),
    ).toEqual(['valid/images/v.jpg']);
  });

  it('a plain images/ + labels/ folder, with classes.txt or with index names', async () => {
    const named = tree({
      'images/1.png': '',
      'labels/1.txt': '1 .5 .5 .2 .2',
      'classes.txt': 'knife\ngun\n',
    });
    expect(await readDataset(named)).toMatchObject({ split: null, names: ['knife', 'gun'], source: named });
    const bare = tree({ 'images/1.png': '', 'labels/1.txt': '2 .5 .5 .2 .2' });
    expect((await readDataset(bare)).names).toEqual(['0', '1', '2']);
  });

  it('clear errors for a missing folder, a folder with no images, bad label lines', async () => {
    await expect(readDataset('/nonexistent/dataset')).rejects.toThrow(EvalUsageError);
    await expect(readDataset('/nonexistent/dataset')).rejects.toThrow(
      'dataset not found: /nonexistent/dataset',
    );
    await expect(readDataset(tree({ 'readme.md': '' }))).rejects.toThrow(
      /no data.yaml and no .*images folder/,
    );
    await expect(readDataset(tree({ 'data.yaml': 'names: [a]\n', 'images/.keep': '' }))).rejects.toThrow(
      /no images found/,
    );
    const badClass = tree({
      'data.yaml': 'names: [a]\n',
      'images/1.png': '',
      'labels/1.txt': '0 .5 .5 .1 .1\n3 .5 .5 .1 .1',
    });
    await expect(readDataset(badClass)).rejects.toThrow(/1\.txt:2: class 3 is not in the dataset's 1 names/);
    await expect(readDataset(tree({ 'images/1.png': '', 'data.yaml': 'val: images\n' }))).rejects.toThrow(
      /no `names`/,
    );
  });

  it('parses label lines: boxes, polygons as their bounding box, and rejects the rest with file:line', () => {
    expect(parseLabels('0 0.1 0.2 0.3 0.4\r\n', 'f.txt', 1)).toEqual([
      { cls: 0, cx: 0.1, cy: 0.2, w: 0.3, h: 0.4 },
    ]);
    // Polygon (0.1,0.2) (0.5,0.2) (0.3,0.6): box x 0.1..0.5, y 0.2..0.6.
    const [poly] = parseLabels('1 0.1 0.2 0.5 0.2 0.3 0.6', 'f.txt', 2);
    expect(poly?.cls).toBe(1);
    expect(poly?.cx).toBeCloseTo(0.3, 12);
    expect(poly?.cy).toBeCloseTo(0.4, 12);
    expect(poly?.w).toBeCloseTo(0.4, 12);
    expect(poly?.h).toBeCloseTo(0.4, 12);
    expect(() => parseLabels('0 0.5 0.5 0.1', 'f.txt', 1)).toThrow('f.txt:1: expected "class cx cy w h"');
    expect(() => parseLabels('\n0 a b c d', 'f.txt', 1)).toThrow('f.txt:2: not a list of numbers');
    expect(() => parseLabels('1.5 .5 .5 .1 .1', 'f.txt', null)).toThrow('non-negative integer');
  });

  it('derives label paths as Ultralytics does', () => {
    expect(labelPathFor('/d/images/val/a.b.jpg')).toBe('/d/labels/val/a.b.txt');
    expect(labelPathFor('/images/d/images/x.png')).toBe('/images/d/labels/x.txt');
    expect(labelPathFor('/d/pics/x.png')).toBe('/d/pics/x.txt');
  });

  it("converts to pixel boxes with each image's real size, clipped to it", () => {
    const objects = [
      { cls: 0, cx: 0.5, cy: 0.5, w: 0.2, h: 0.4 },
      { cls: 1, cx: 0.125, cy: 0.875, w: 0.5, h: 0.5 }, // runs off the left and bottom
      { cls: 1, cx: 1.2, cy: 0.5, w: 0.1, h: 0.1 }, // wholly outside: dropped
    ];
    expect(toPixelBoxes(objects, 200, 100)).toEqual([
      { cls: 0, box: [80, 30, 120, 70] },
      { cls: 1, box: [0, 62.5, 75, 100] },
    ]);
    expect(toPixelBoxes(objects.slice(0, 1), 1180, 640)[0]?.box).toEqual([472, 192, 708, 448]);
  });
});
