import { PgError } from '../../config/shared/errors.js';
import type { OutputLayout } from '../decode/decode.js';
import type { InputDtype, InputLayout } from '../preprocess/tensor.js';

/** The subset of onnxruntime's ValueMetadata the check reads (kept structural so tests need no session). */
export interface ValueMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  /** Numbers for fixed dims, strings (or -1) for symbolic ones; empty when the rank is unknown. */
  shape?: ReadonlyArray<number | string>;
}

export interface ShapeSpec {
  name: string;
  path: string;
  input: { width: number; height: number; layout: InputLayout; dtype: InputDtype };
  output: OutputLayout;
  numClasses: number;
}

type Dim = number | string;

const isDynamic = (d: Dim): boolean => typeof d === 'string' || d < 0;
const fmt = (dims: ReadonlyArray<Dim>): string => `[${dims.join(',')}]`;

function matches(declared: ReadonlyArray<Dim>, expected: ReadonlyArray<Dim>): boolean {
  return (
    declared.length === expected.length &&
    declared.every((d, i) => {
      const e = expected[i] as Dim;
      return isDynamic(d) || typeof e === 'string' || d === e;
    })
  );
}

export function expectedInputDims(spec: ShapeSpec): Dim[] {
  const { width, height, layout } = spec.input;
  return layout === 'nchw' ? [1, 3, height, width] : [1, height, width, 3];
}

/** 'N'/'K' stand for any anchor or detection count. */
export function expectedOutputDims(spec: ShapeSpec): Dim[] {
  const c = spec.numClasses;
  if (spec.output === 'yolov5') return [1, 'N', 5 + c];
  if (spec.output === 'yolov8') return [1, 4 + c, 'N'];
  return [1, 'K', 6];
}

function fail(spec: ShapeSpec, what: string): never {
  throw new PgError('MODEL_SHAPE', `model "${spec.name}" (${spec.path}): ${what}`, {
    details: { model: spec.name, path: spec.path },
  });
}

function outputContext(spec: ShapeSpec): string {
  const classes = spec.output === 'e2e' ? '' : `, ${spec.numClasses} labels`;
  return `config (output ${spec.output}${classes}) expects`;
}

/**
 * Checks the model's declared input and output against the config, at start, so that a wrong layout,
 * size or label list is a clear start-up error naming both shapes rather than garbage detections.
 * Symbolic dims (dynamic batch, dynamic anchor count) are accepted; the first real run re-checks the
 * actual output with checkOutputDims.
 */
export function checkModelShapes(
  spec: ShapeSpec,
  inputs: readonly ValueMeta[],
  outputs: readonly ValueMeta[],
): { inputName: string; outputName: string } {
  const input = inputs[0];
  if (input === undefined || inputs.length !== 1) {
    fail(
      spec,
      `expected exactly 1 input (the image), model declares ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`,
    );
  }
  const inExpected = expectedInputDims(spec);
  const inDesc = `config (input ${spec.input.width}x${spec.input.height}, ${spec.input.layout}, ${spec.input.dtype}) expects ${spec.input.dtype} ${fmt(inExpected)}`;
  if (!input.isTensor) fail(spec, `input "${input.name}" is not a tensor; ${inDesc}`);
  const inShape = input.shape ?? [];
  if (input.type !== spec.input.dtype || (inShape.length > 0 && !matches(inShape, inExpected))) {
    fail(spec, `input "${input.name}" is ${input.type} ${fmt(inShape)}; ${inDesc}`);
  }

  const output = outputs[0];
  if (output === undefined) fail(spec, 'model declares no output');
  const outExpected = expectedOutputDims(spec);
  if (!output.isTensor || output.type !== 'float32') {
    fail(
      spec,
      `output "${output.name}" is ${output.isTensor ? output.type : 'not a tensor'}; expected float32`,
    );
  }
  const outShape = output.shape ?? [];
  if (outShape.length > 0 && !matches(outShape, outExpected)) {
    fail(spec, `output "${output.name}" is ${fmt(outShape)}; ${outputContext(spec)} ${fmt(outExpected)}`);
  }
  return { inputName: input.name, outputName: output.name };
}

/** The same check on an actual output (models may declare no shape or only symbolic dims). */
export function checkOutputDims(spec: ShapeSpec, outputName: string, dims: readonly number[]): void {
  const outExpected = expectedOutputDims(spec);
  if (!matches(dims, outExpected)) {
    fail(
      spec,
      `output "${outputName}" came out ${fmt(dims)} on the warm-up run; ${outputContext(spec)} ${fmt(outExpected)}`,
    );
  }
}
