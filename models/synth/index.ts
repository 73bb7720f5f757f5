/**
 * Synthetic X-ray parcel scans: the public face of the generator. `generateScan` is synchronous and
 * deterministic (same options → byte-identical views); it reuses module-level buffers, so call it from
 * one thread at a time (each worker thread has its own module instance).
 */
import sharp from 'sharp';
import { buildParcel, type Scene, waybill } from './parcel.js';
import { Rng } from './random.js';
import { Canvas } from './raster.js';
import { cleanStyle, displayColours, type ImageStyle, Renderer, randomStyle } from './render.js';
import { drawScene, type ViewName } from './scene.js';
import { CLASSES } from './threats.js';
import { visibleBox } from './visibility.js';

export { prng } from './random.js';
export { CATEGORY, CLASSES, type ThreatClass } from './threats.js';

export interface SynthBox {
  cls: number;
  label: string;
  /** Pixel box, x2/y2 exclusive. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface SynthView {
  view: ViewName;
  width: number;
  height: number;
  /** Packed RGB, row-major, 3 bytes per pixel (HWC). */
  rgb: Buffer;
  boxes: SynthBox[];
}

export interface SynthScan {
  views: SynthView[];
  waybill: string;
}

/** Detector channels of the simulated machine when a caller names none. */
export const DEFAULT_HEIGHT = 640;

export interface GenerateOptions {
  seed: number;
  /** Detector channels (image height); default DEFAULT_HEIGHT. */
  height?: number;
  /** Top and side views instead of one "main" view. */
  dualView?: boolean;
  /** Probability that a parcel carries at least one threat of each category (default 0.5 / 0.3). */
  threatRate?: { prohibited: number; drug: number };
  /** Class names (or indices) threats are drawn from; default all. */
  classes?: ReadonlyArray<string | number>;
  /** No noise, blur, line artefacts or palette variation (geometry tests). */
  clean?: boolean;
}

const canvas = new Canvas();
const renderer = new Renderer();

function classIndices(classes: GenerateOptions['classes']): number[] {
  if (!classes) return CLASSES.map((_, i) => i);
  return classes.map((c) => {
    const i = typeof c === 'number' ? c : (CLASSES as readonly string[]).indexOf(c);
    if (!Number.isInteger(i) || i < 0 || i >= CLASSES.length) throw new Error(`unknown class ${String(c)}`);
    return i;
  });
}

/** Renders one view of a scene: physics into the canvas, then noise, blur and colour. */
export function renderScene(scene: Scene, view: ViewName, style: ImageStyle, noiseSeed: number): SynthView {
  const g = scene.geometry;
  canvas.reset(g.width, g.height);
  const threats = drawScene(canvas, scene.objects, view, g);
  const rgb = renderer.render(canvas, style, noiseSeed);
  const colourOf = displayColours(style);
  const boxes: SynthBox[] = [];
  for (const t of threats) {
    const b = visibleBox(canvas, t, colourOf);
    if (b)
      boxes.push({
        cls: t.cls,
        label: CLASSES[t.cls] ?? String(t.cls),
        x1: b[0],
        y1: b[1],
        x2: b[2],
        y2: b[3],
      });
  }
  return { view, width: g.width, height: g.height, rgb, boxes };
}

export function generateScan(opts: GenerateOptions): SynthScan {
  const height = opts.height ?? DEFAULT_HEIGHT;
  if (!Number.isInteger(height) || height < 64 || height > 4096)
    throw new Error(`height ${height} out of range`);
  const rng = new Rng(opts.seed);
  const scene = buildParcel(rng, {
    height,
    threatRate: opts.threatRate ?? { prohibited: 0.5, drug: 0.3 },
    classes: classIndices(opts.classes),
  });
  const style = opts.clean ? cleanStyle() : randomStyle(rng);
  const bill = waybill(rng);
  const names: ViewName[] = opts.dualView ? ['top', 'side'] : ['main'];
  const views = names.map((v) => renderScene(scene, v, style, rng.seed()));
  return { views, waybill: bill };
}

/**
 * JPEG as an X-ray machine would export it: baseline, 4:2:0, standard Huffman tables (optimised
 * tables would halve the encoder's speed for ~7 % smaller files).
 */
export function encodeJpeg(view: SynthView, quality = 90): Promise<Buffer> {
  return sharp(view.rgb, { raw: { width: view.width, height: view.height, channels: 3 } })
    .jpeg({ quality, optimiseCoding: false })
    .toBuffer();
}

export function encodePng(view: SynthView): Promise<Buffer> {
  return sharp(view.rgb, { raw: { width: view.width, height: view.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

export { buildParcel, type Scene } from './parcel.js';
export { cleanStyle, type ImageStyle, randomStyle } from './render.js';
export type { SceneObject, ViewName } from './scene.js';
