import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { type Config, labelSchema, type ModelConfig, modelSchema } from '../../config/schema.js';
import { errorMessage } from '../../config/shared/errors.js';
import type { ValueMeta } from '../onnx/shapes.js';
import { EvalUsageError } from './dataset.js';

/**
 * `--model PATH`: a bare .onnx file becomes a ModelConfig. Labels come from `labels.json` beside it;
 * input size, layout, dtype and output layout are read from the graph's declared shapes where they
 * are fixed, and from --input/--layout/--dtype/--output where they are not (or to override them).
 */

export interface OnnxOverrides {
  /** "640x640" (width x height) or "640". */
  input?: string | undefined;
  layout?: string | undefined;
  dtype?: string | undefined;
  output?: string | undefined;
  /** A labels file other than labels.json beside the model. */
  labels?: string | undefined;
}

type LabelInput = z.input<typeof labelSchema>;

/**
 * labels.json in any of the forms in use: the gateway's label objects (`[{name, category, threshold?}]`,
 * as models/standin/labels.json), a map `{"knife": "prohibited"}`, or a bare list of names (category
 * does not matter to evaluation, so it defaults to prohibited).
 */
export function parseLabelsJson(text: string, where: string): LabelInput[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EvalUsageError(`${where}: not JSON: ${errorMessage(err)}`);
  }
  let labels: unknown = raw;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw))
    labels = Object.entries(raw).map(([name, category]) => ({ name, category }));
  else if (Array.isArray(raw))
    labels = raw.map((l) => (typeof l === 'string' ? { name: l, category: 'prohibited' } : l));
  const parsed = z.array(labelSchema).min(1).safeParse(labels);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EvalUsageError(
      `${where}: ${issue ? `[${issue.path.join('.')}] ${issue.message}` : 'invalid labels'}`,
    );
  }
  return labels as LabelInput[];
}

const fixedDim = (d: number | string | undefined): number | null =>
  typeof d === 'number' && d > 0 ? d : null;

/** What the declared shapes say, for the fields they settle; undefined where they do not. */
export function inferFromShapes(
  input: ValueMeta | undefined,
  output: ValueMeta | undefined,
  numClasses: number,
): {
  width?: number;
  height?: number;
  layout?: 'nchw' | 'nhwc';
  dtype?: 'float32' | 'uint8';
  output?: 'yolov5' | 'yolov8' | 'e2e';
} {
  const out: ReturnType<typeof inferFromShapes> = {};
  if (input?.type === 'float32' || input?.type === 'uint8') out.dtype = input.type;
  const s = input?.shape ?? [];
  if (s.length === 4) {
    const [d1, d2, d3] = [fixedDim(s[1]), fixedDim(s[2]), fixedDim(s[3])];
    if (d1 === 3 && d3 !== 3) Object.assign(out, { layout: 'nchw', height: d2, width: d3 });
    else if (d3 === 3 && d1 !== 3) Object.assign(out, { layout: 'nhwc', height: d1, width: d2 });
    if (out.width === null || out.height === null) {
      delete out.width;
      delete out.height;
    }
  }
  const o = output?.shape ?? [];
  if (o.length === 3) {
    const [n1, n2] = [fixedDim(o[1]), fixedDim(o[2])];
    const candidates: Array<'yolov5' | 'yolov8' | 'e2e'> = [];
    if (n1 === 4 + numClasses) candidates.push('yolov8');
    if (n2 === 5 + numClasses) candidates.push('yolov5');
    if (n2 === 6) candidates.push('e2e');
    // One class gives [1,N,6] for both yolov5 and e2e: only --output can tell them apart.
    if (candidates.length === 1) out.output = candidates[0];
  }
  return out;
}

function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  if (!m) throw new EvalUsageError(`--input: "${value}" is not WIDTHxHEIGHT (e.g. 640x640)`);
  const width = Number(m[1]);
  return { width, height: m[2] === undefined ? width : Number(m[2]) };
}

async function readShapes(path: string): Promise<{ input?: ValueMeta; output?: ValueMeta }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  } catch (err) {
    throw new EvalUsageError(`${path}: cannot load the model: ${errorMessage(err)}`);
  }
  try {
    // onnxruntime's ValueMetadata is structurally a ValueMeta, as the worker's shape check uses it.
    return { input: session.inputMetadata[0], output: session.outputMetadata[0] };
  } finally {
    await session.release();
  }
}

/** A ModelConfig for an .onnx file, named after it; fields the graph leaves open must come from options. */
export async function modelFromOnnx(path: string, opts: OnnxOverrides = {}): Promise<ModelConfig> {
  const file = resolve(path);
  if (!existsSync(file)) throw new EvalUsageError(`model file not found: ${path}`);
  const labelsPath = opts.labels ? resolve(opts.labels) : join(dirname(file), 'labels.json');
  if (!existsSync(labelsPath))
    throw new EvalUsageError(
      `${labelsPath} not found: a model given by path needs its labels (or --labels FILE)`,
    );
  const labels = parseLabelsJson(readFileSync(labelsPath, 'utf8'), labelsPath);
  const shapes = await readShapes(file);
  const found = inferFromShapes(shapes.input, shapes.output, labels.length);
  const size = opts.input ? parseSize(opts.input) : null;
  const fields = {
    width: size?.width ?? found.width,
    height: size?.height ?? found.height,
    layout: opts.layout ?? found.layout,
    dtype: opts.dtype ?? found.dtype,
    output: opts.output ?? found.output,
  };
  const missing = (
    [
      ['width', '--input WxH'],
      ['layout', '--layout nchw|nhwc'],
      ['dtype', '--dtype float32|uint8'],
      ['output', '--output yolov5|yolov8|e2e'],
    ] as const
  ).filter(([k]) => fields[k] === undefined);
  if (missing.length > 0) {
    throw new EvalUsageError(
      `${path}: the graph does not settle ${missing.map(([k]) => k).join(', ')}; give ${missing.map(([, o]) => o).join(' ')}`,
    );
  }
  const name =
    basename(file, extname(file))
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, 63) || 'model';
  const parsed = modelSchema.safeParse({
    name,
    version: 'file',
    path: file,
    input: { width: fields.width, height: fields.height, layout: fields.layout, dtype: fields.dtype },
    output: fields.output,
    labels,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EvalUsageError(
      `${path}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid model options'}`,
    );
  }
  return parsed.data;
}

/** `--model NAME`: the model as the site's config declares it, with the config's inference settings. */
export function modelFromConfig(configPath: string, name: string): { model: ModelConfig; config: Config } {
  let config: Config;
  try {
    config = loadConfigFile(configPath).config;
  } catch (err) {
    if (err instanceof ConfigError)
      throw new EvalUsageError(
        `${configPath}: ${err.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      );
    throw new EvalUsageError(errorMessage(err));
  }
  const model = config.models.find((m) => m.name === name);
  if (model === undefined) {
    throw new EvalUsageError(
      `unknown model "${name}" in ${configPath} (configured: ${config.models.map((m) => m.name).join(', ')}); ` +
        'give --config, or a path to an .onnx file',
    );
  }
  return { model, config };
}
