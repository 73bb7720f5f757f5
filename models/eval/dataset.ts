import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../../config/shared/errors.js';
import type { Box } from '../../config/shared/types.js';
import { XRAY_IMAGE_EXTENSIONS } from '../../config/shared/types.js';

/**
 * Reads a YOLO-format dataset the way Ultralytics does, so a site can score a model on the same
 * folder it trains on: `data.yaml` (names as a list or an index map, `path`, and `val`/`test`/`train`
 * as image folders, image-list .txt files or lists of either), or a plain folder holding `images/`
 * and `labels/`. Labels are `cls cx cy w h` normalised to the image (a polygon line `cls x y x y …`
 * counts as its bounding box); an image without a label file has no objects.
 */

/** A problem with what the user asked for or pointed at (dataset, model, options): exit code 2. */
export class EvalUsageError extends Error {
  override readonly name = 'EvalUsageError';
}

/** What the gateway accepts, plus WebP: public datasets (Roboflow exports) often ship it, and sharp reads it. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([...XRAY_IMAGE_EXTENSIONS, '.webp']);
/** Looked up, in order, when --split is not given. Evaluating on `train` is allowed but says so. */
export const SPLIT_ORDER = ['val', 'test', 'train'] as const;

/** One labelled object, normalised to the image: centre and size in [0, 1]. */
export interface YoloObject {
  cls: number;
  cx: number;
  cy: number;
  w: number;
  h: number;
}

export interface DatasetImage {
  path: string;
  labelPath: string;
  /** False when the label file does not exist (a background image: no objects). */
  labelled: boolean;
  objects: YoloObject[];
}

export interface YoloDataset {
  /** The data.yaml read, or the folder when there is none. */
  source: string;
  /** The split evaluated, or null for a plain folder. */
  split: string | null;
  /** Class names by dataset class index. */
  names: string[];
  images: DatasetImage[];
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/** Every image under a folder, recursively, sorted so that --limit and runs are reproducible. */
async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Ultralytics' img2label_paths: the last `images` folder of the path becomes `labels`, the extension `.txt`. */
export function labelPathFor(imagePath: string): string {
  const parts = imagePath.split(sep);
  const i = parts.lastIndexOf('images');
  if (i >= 0 && i < parts.length - 1) parts[i] = 'labels';
  const swapped = parts.join(sep);
  return `${swapped.slice(0, swapped.length - extname(swapped).length)}.txt`;
}

/** Parses one label file; `numClasses` (when known) bounds the class ids. Throws EvalUsageError naming file and line. */
export function parseLabels(text: string, where: string, numClasses: number | null): YoloObject[] {
  const out: YoloObject[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const bad = (why: string) => new EvalUsageError(`${where}:${i + 1}: ${why}: "${line.slice(0, 80)}"`);
    const values = line.split(/\s+/).map(Number);
    if (values.some((v) => !Number.isFinite(v))) throw bad('not a list of numbers');
    const cls = values[0] as number;
    if (!Number.isInteger(cls) || cls < 0) throw bad('class must be a non-negative integer');
    if (numClasses !== null && cls >= numClasses)
      throw bad(`class ${cls} is not in the dataset's ${numClasses} names`);
    if (values.length === 5) {
      const [, cx, cy, w, h] = values as [number, number, number, number, number];
      out.push({ cls, cx, cy, w, h });
    } else if (values.length >= 7 && values.length % 2 === 1) {
      // A segmentation polygon: Ultralytics trains detectors on its bounding box.
      const xs = values.filter((_, j) => j > 0 && j % 2 === 1);
      const ys = values.filter((_, j) => j > 0 && j % 2 === 0);
      const [x1, x2, y1, y2] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      out.push({ cls, cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, w: x2 - x1, h: y2 - y1 });
    } else {
      throw bad(`expected "class cx cy w h" or a polygon, got ${values.length} values`);
    }
  });
  return out;
}

/** Normalised objects → source-pixel boxes, clipped to the image; boxes with no area left are dropped. */
export function toPixelBoxes(
  objects: readonly YoloObject[],
  width: number,
  height: number,
): Array<{ cls: number; box: Box }> {
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, v));
  return objects.flatMap((o) => {
    const box: Box = [
      clip((o.cx - o.w / 2) * width, width),
      clip((o.cy - o.h / 2) * height, height),
      clip((o.cx + o.w / 2) * width, width),
      clip((o.cy + o.h / 2) * height, height),
    ];
    return box[2] > box[0] && box[3] > box[1] ? [{ cls: o.cls, box }] : [];
  });
}

/** `names: [a, b]` or `names: {0: a, 1: b}`; gaps in a map are filled with the index. */
function parseNames(value: unknown, where: string): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0)
        throw new EvalUsageError(`${where}: names key "${k}" is not a class index`);
      return [i, String(v)] as const;
    });
    const names = Array.from({ length: Math.max(-1, ...entries.map(([i]) => i)) + 1 }, (_, i) => String(i));
    for (const [i, n] of entries) names[i] = n;
    return names;
  }
  throw new EvalUsageError(`${where}: \`names\` must be a list or a map of class index to name`);
}

/** Names for a folder without data.yaml: classes.txt (labelImg, CVAT exports), else the bare indices. */
async function folderNames(dir: string): Promise<string[] | null> {
  for (const p of [join(dir, 'classes.txt'), join(dir, 'labels', 'classes.txt'), join(dir, 'obj.names')]) {
    if (existsSync(p)) {
      const names = (await readFile(p, 'utf8')).split(/\r?\n/).map((l) => l.trim());
      while (names.length > 0 && names[names.length - 1] === '') names.pop();
      return names;
    }
  }
  return null;
}

/** One `val:`/`train:` entry: a folder of images or a .txt list of image paths. */
async function splitImages(root: string, entry: string, where: string): Promise<string[]> {
  let p = isAbsolute(entry) ? entry : resolve(root, entry);
  // Roboflow exports write `../valid/images` meaning a folder beside data.yaml; Ultralytics accepts it.
  if (!existsSync(p) && entry.startsWith('../')) p = resolve(root, entry.slice(3));
  if (await isDir(p)) return listImages(p);
  if (p.endsWith('.txt') && existsSync(p)) {
    const lines = (await readFile(p, 'utf8')).split(/\r?\n/).map((l) => l.trim());
    return lines.filter((l) => l !== '').map((l) => (isAbsolute(l) ? l : resolve(dirname(p), l)));
  }
  throw new EvalUsageError(`${where}: split "${entry}" is neither an image folder nor a .txt list (${p})`);
}

async function readYaml(
  yamlPath: string,
  split: string | undefined,
): Promise<Omit<YoloDataset, 'images'> & { files: string[] }> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(yamlPath, 'utf8'));
  } catch (err) {
    throw new EvalUsageError(`${yamlPath}: cannot read: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new EvalUsageError(`${yamlPath}: expected a YAML mapping`);
  const y = doc as Record<string, unknown>;
  if (y.names === undefined) throw new EvalUsageError(`${yamlPath}: no \`names\``);
  const names = parseNames(y.names, yamlPath);
  const base = dirname(yamlPath);
  const root = typeof y.path === 'string' && y.path !== '' ? resolve(base, y.path) : base;
  const chosen = split ?? SPLIT_ORDER.find((s) => y[s] !== undefined && y[s] !== null);
  if (chosen === undefined) {
    // No split keys (Parcelguard's synth writes none): the folder layout beside data.yaml.
    return { source: yamlPath, split: null, names, files: await plainImages(root, yamlPath) };
  }
  const value = y[chosen];
  if (value === undefined || value === null)
    throw new EvalUsageError(
      `${yamlPath}: no split "${chosen}" (has: ${SPLIT_ORDER.filter((s) => y[s]).join(', ')})`,
    );
  const entries = Array.isArray(value) ? value.map(String) : [String(value)];
  const files = (await Promise.all(entries.map((e) => splitImages(root, e, yamlPath)))).flat();
  return { source: yamlPath, split: chosen, names, files };
}

async function plainImages(dir: string, where: string, split?: string): Promise<string[]> {
  const images = split === undefined ? join(dir, 'images') : join(dir, 'images', split);
  if (!(await isDir(images))) throw new EvalUsageError(`${where}: no data.yaml and no ${images} folder`);
  return listImages(images);
}

/**
 * Reads the dataset at `target`: a data.yaml file, a folder with data.yaml (or data.yml), or a plain
 * folder with images/ and labels/. Every label file is read and checked now, before any model starts.
 */
export async function readDataset(target: string, opts: { split?: string } = {}): Promise<YoloDataset> {
  const st = await stat(target).catch(() => null);
  if (st === null) throw new EvalUsageError(`dataset not found: ${target}`);
  let yamlPath: string | null = null;
  if (st.isFile()) {
    if (!/\.ya?ml$/i.test(target))
      throw new EvalUsageError(`${target}: expected a folder or a data.yaml file`);
    yamlPath = resolve(target);
  } else {
    yamlPath = ['data.yaml', 'data.yml'].map((n) => resolve(target, n)).find((p) => existsSync(p)) ?? null;
  }
  let meta: Omit<YoloDataset, 'images'> & { files: string[] };
  if (yamlPath !== null) meta = await readYaml(yamlPath, opts.split);
  else {
    const dir = resolve(target);
    const files = await plainImages(dir, dir, opts.split);
    meta = { source: dir, split: opts.split ?? null, names: (await folderNames(dir)) ?? [], files };
  }
  const known = meta.names.length > 0 ? meta.names.length : null;
  const images: DatasetImage[] = [];
  for (const path of meta.files) {
    const labelPath = labelPathFor(path);
    const text = await readFile(labelPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw new EvalUsageError(`${labelPath}: cannot read: ${err.message}`);
    });
    const objects = text === null ? [] : parseLabels(text, labelPath, known);
    images.push({ path, labelPath, labelled: text !== null, objects });
  }
  if (known === null) {
    // No names anywhere: classes are called by their index, so `--map 0=knife` works.
    let max = -1;
    for (const im of images) for (const o of im.objects) max = Math.max(max, o.cls);
    meta.names = Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  if (images.length === 0)
    throw new EvalUsageError(`${meta.source}: no images found (${[...IMAGE_EXTENSIONS].join(' ')})`);
  return { source: meta.source, split: meta.split, names: meta.names, images };
}
