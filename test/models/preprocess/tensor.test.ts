import { describe, expect, it } from 'vitest';
import { type InputSpec, inputDims, toTensorData } from '../../../models/preprocess/tensor.js';

// A 2x1 image: pixel 0 = (10, 20, 30), pixel 1 = (40, 50, 60), HWC.
const pixels = Uint8Array.from([10, 20, 30, 40, 50, 60]);
const spec = (layout: InputSpec['layout'], dtype: InputSpec['dtype'], scale = 1 / 255): InputSpec => ({
  width: 2,
  height: 1,
  layout,
  dtype,
  scale,
});

describe('toTensorData', () => {
  it('float32 NCHW: planar channels, scaled', () => {
    const t = toTensorData(pixels, spec('nchw', 'float32', 0.5));
    expect(t.dims).toEqual([1, 3, 1, 2]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([...t.data]).toEqual([5, 20, 10, 25, 15, 30]);
  });

  it('float32 NHWC: interleaved, scaled', () => {
    const t = toTensorData(pixels, spec('nhwc', 'float32', 2));
    expect(t.dims).toEqual([1, 1, 2, 3]);
    expect([...t.data]).toEqual([20, 40, 60, 80, 100, 120]);
  });

  it('uint8 NCHW: planar, unscaled', () => {
    const t = toTensorData(pixels, spec('nchw', 'uint8'));
    expect(t.data).toBeInstanceOf(Uint8Array);
    expect([...t.data]).toEqual([10, 40, 20, 50, 30, 60]);
  });

  it('uint8 NHWC: the buffer itself, no copy', () => {
    const t = toTensorData(pixels, spec('nhwc', 'uint8'));
    expect(t.data).toBe(pixels);
  });

  it('default 1/255 scale maps 255 to 1', () => {
    const t = toTensorData(Uint8Array.from([255, 0, 255, 0, 255, 0]), spec('nchw', 'float32'));
    expect([...t.data]).toEqual([1, 0, 0, 1, 1, 0]);
  });

  it('writes into a scratch buffer of the right type and size, and ignores one that does not fit', () => {
    const scratch = new Float32Array(6);
    expect(toTensorData(pixels, spec('nchw', 'float32', 1), scratch).data).toBe(scratch);
    expect([...scratch]).toEqual([10, 40, 20, 50, 30, 60]);
    expect(toTensorData(pixels, spec('nchw', 'float32'), new Float32Array(5)).data).toHaveLength(6);
    expect(toTensorData(pixels, spec('nchw', 'uint8'), scratch).data).toBeInstanceOf(Uint8Array);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => toTensorData(new Uint8Array(5), spec('nchw', 'float32'))).toThrow(
      /expected 2x1x3 = 6 bytes, got 5/,
    );
  });
});

describe('inputDims', () => {
  it('follows the layout', () => {
    expect(inputDims({ ...spec('nchw', 'float32'), width: 640, height: 384 })).toEqual([1, 3, 384, 640]);
    expect(inputDims({ ...spec('nhwc', 'uint8'), width: 640, height: 384 })).toEqual([1, 384, 640, 3]);
  });
});
