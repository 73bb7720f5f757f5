import { describe, expect, it } from 'vitest';
import { isPgError } from '../../../config/shared/errors.js';
import {
  checkModelShapes,
  checkOutputDims,
  type ShapeSpec,
  type ValueMeta,
} from '../../../models/onnx/shapes.js';

const spec: ShapeSpec = {
  name: 'prohibited',
  path: '/models/prohibited.onnx',
  input: { width: 640, height: 640, layout: 'nchw', dtype: 'float32' },
  output: 'yolov8',
  numClasses: 6,
};
const input = (shape: Array<number | string>, type = 'float32'): ValueMeta[] => [
  { name: 'images', isTensor: true, type, shape },
];
const output = (shape: Array<number | string>, type = 'float32'): ValueMeta[] => [
  { name: 'output0', isTensor: true, type, shape },
];

function shapeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isPgError(err, 'MODEL_SHAPE')) return err.message;
    throw err;
  }
  throw new Error('expected a MODEL_SHAPE error');
}

describe('checkModelShapes', () => {
  it('accepts matching shapes and returns the tensor names', () => {
    expect(checkModelShapes(spec, input([1, 3, 640, 640]), output([1, 10, 8400]))).toEqual({
      inputName: 'images',
      outputName: 'output0',
    });
  });

  it('accepts symbolic and -1 dims (dynamic batch, dynamic anchors, dynamic size)', () => {
    expect(() =>
      checkModelShapes(spec, input(['batch', 3, -1, 'w']), output(['batch', 10, 'anchors'])),
    ).not.toThrow();
    expect(() => checkModelShapes(spec, input([1, 3, 640, 640]), output([]))).not.toThrow();
  });

  it('names expected and actual input when the size differs', () => {
    const msg = shapeError(() => checkModelShapes(spec, input([1, 3, 320, 320]), output([1, 10, 8400])));
    expect(msg).toContain('model "prohibited" (/models/prohibited.onnx)');
    expect(msg).toContain('input "images" is float32 [1,3,320,320]');
    expect(msg).toContain('expects float32 [1,3,640,640]');
  });

  it('catches a layout mismatch (NHWC model, NCHW config)', () => {
    const msg = shapeError(() => checkModelShapes(spec, input([1, 640, 640, 3]), output([1, 10, 8400])));
    expect(msg).toMatch(/is float32 \[1,640,640,3\].*nchw.*expects float32 \[1,3,640,640\]/);
  });

  it('catches a dtype mismatch', () => {
    const msg = shapeError(() =>
      checkModelShapes(spec, input([1, 3, 640, 640], 'uint8'), output([1, 10, 8400])),
    );
    expect(msg).toContain('is uint8 [1,3,640,640]');
  });

  it('catches a fixed batch other than 1 and a channel count other than 3', () => {
    shapeError(() => checkModelShapes(spec, input([4, 3, 640, 640]), output([1, 10, 8400])));
    shapeError(() => checkModelShapes(spec, input([1, 1, 640, 640]), output([1, 10, 8400])));
  });

  it('names the class count when labels and model disagree', () => {
    const msg = shapeError(() =>
      checkModelShapes({ ...spec, numClasses: 4 }, input([1, 3, 640, 640]), output([1, 10, 8400])),
    );
    expect(msg).toContain(
      'output "output0" is [1,10,8400]; config (output yolov8, 4 labels) expects [1,8,N]',
    );
  });

  it('checks each output layout', () => {
    expect(() =>
      checkModelShapes({ ...spec, output: 'yolov5' }, input([1, 3, 640, 640]), output([1, 25200, 11])),
    ).not.toThrow();
    expect(() =>
      checkModelShapes({ ...spec, output: 'e2e' }, input([1, 3, 640, 640]), output([1, 300, 6])),
    ).not.toThrow();
    shapeError(() =>
      checkModelShapes({ ...spec, output: 'yolov5' }, input([1, 3, 640, 640]), output([1, 10, 8400])),
    );
    shapeError(() =>
      checkModelShapes({ ...spec, output: 'e2e' }, input([1, 3, 640, 640]), output([1, 300, 7])),
    );
    shapeError(() => checkModelShapes(spec, input([1, 3, 640, 640]), output([10, 8400])));
  });

  it('rejects models with extra inputs, non-float outputs or no output', () => {
    const two = [
      ...input([1, 3, 640, 640]),
      { name: 'orig_size', isTensor: true, type: 'int64', shape: [1, 2] },
    ];
    expect(shapeError(() => checkModelShapes(spec, two, output([1, 10, 8400])))).toContain('exactly 1 input');
    expect(
      shapeError(() => checkModelShapes(spec, input([1, 3, 640, 640]), output([1, 10, 8400], 'float16'))),
    ).toContain('expected float32');
    expect(shapeError(() => checkModelShapes(spec, input([1, 3, 640, 640]), []))).toContain('no output');
  });
});

describe('checkOutputDims', () => {
  it('checks the actual output of a model that declared none', () => {
    expect(() => checkOutputDims(spec, 'output0', [1, 10, 8400])).not.toThrow();
    expect(shapeError(() => checkOutputDims(spec, 'output0', [1, 84, 8400]))).toContain(
      'came out [1,84,8400]',
    );
  });
});
