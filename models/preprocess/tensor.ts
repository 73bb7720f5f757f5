/**
 * uint8 RGB HWC (the letterboxed image) → the model's input tensor data. Runs in the worker thread:
 * for a 640×640 input this is ~1.2 M multiply-adds, which would otherwise stall the event loop.
 */

export type InputLayout = 'nchw' | 'nhwc';
export type InputDtype = 'float32' | 'uint8';

export interface InputSpec {
  width: number;
  height: number;
  layout: InputLayout;
  dtype: InputDtype;
  /** float32 only: value = pixel × scale. */
  scale: number;
}

export interface TensorData {
  data: Float32Array | Uint8Array;
  dims: [number, number, number, number];
}

export function inputDims(spec: InputSpec): [number, number, number, number] {
  return spec.layout === 'nchw' ? [1, 3, spec.height, spec.width] : [1, spec.height, spec.width, 3];
}

/**
 * `scratch` is a buffer from an earlier call for the same spec, reused when the caller has finished
 * with it: a fresh 640×640 float input is a 5 MB allocation, zero-filled and later collected, which
 * costs more than the conversion itself.
 */
export function toTensorData(
  pixels: Uint8Array,
  spec: InputSpec,
  scratch?: Float32Array | Uint8Array,
): TensorData {
  const plane = spec.width * spec.height;
  if (pixels.length !== plane * 3) {
    throw new Error(
      `input pixels: expected ${spec.width}x${spec.height}x3 = ${plane * 3} bytes, got ${pixels.length}`,
    );
  }
  const dims = inputDims(spec);
  if (spec.dtype === 'uint8') {
    // Already in the model's layout: hand the transferred buffer to the runtime as it is.
    if (spec.layout === 'nhwc') return { data: pixels, dims };
    const out =
      scratch instanceof Uint8Array && scratch.length === plane * 3 ? scratch : new Uint8Array(plane * 3);
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[i] = pixels[p] as number;
      out[plane + i] = pixels[p + 1] as number;
      out[2 * plane + i] = pixels[p + 2] as number;
    }
    return { data: out, dims };
  }
  const s = spec.scale;
  const out =
    scratch instanceof Float32Array && scratch.length === plane * 3 ? scratch : new Float32Array(plane * 3);
  if (spec.layout === 'nhwc') {
    for (let i = 0; i < plane * 3; i++) out[i] = (pixels[i] as number) * s;
    return { data: out, dims };
  }
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = (pixels[p] as number) * s;
    out[plane + i] = (pixels[p + 1] as number) * s;
    out[2 * plane + i] = (pixels[p + 2] as number) * s;
  }
  return { data: out, dims };
}

/** A uniform grey image of the input size, for the warm-up run. */
export function greyPixels(spec: InputSpec, level: number): Uint8Array {
  return new Uint8Array(spec.width * spec.height * 3).fill(level);
}
