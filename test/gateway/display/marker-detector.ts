import type { Box, Detection } from '../../../config/shared/types.js';
import type { DetectorPort } from '../../../gateway/pipeline/screen.js';

/**
 * TEST DOUBLE for the inference core. The scrolling X-ray fixture tints every threat's ground-truth
 * box with the marker colour (magenta); this finds marker blobs in the picture it is given and
 * reports each as a detection. It stands in for the shipped ONNX models, which are too weak (mAP50
 * about 0.25) for an exact end-to-end count, while the rest of the path stays real: the H.264 video,
 * the RTSP server, ffmpeg, the stream reader, the ROI crop and the tracker.
 *
 * A blob touching the picture's edge scores lower, as a real detector is less sure of an object it
 * sees only part of. It scans every second pixel of every second row, in JS, on the test's main
 * thread: fine for a double on a 560 × 280 crop, not a pattern for the gateway.
 */
export class MarkerDetector implements DetectorPort {
  calls = 0;

  constructor(private readonly label = 'marker') {}

  async detect(
    image: { data: Buffer; width: number; height: number },
    view: string,
    modelNames: readonly string[],
  ): Promise<Detection[]> {
    this.calls++;
    const model = { name: modelNames[0] ?? 'marker', version: 'test-double' };
    return findMarkerBlobs(image).map((box) => ({
      label: this.label,
      category: 'prohibited',
      score: touchesEdge(box, image.width, image.height) ? 0.6 : 0.9,
      box,
      view,
      model,
    }));
  }

  modelInfo(): Array<{ name: string; version: string }> {
    return [{ name: 'marker', version: 'test-double' }];
  }
}

const STEP = 2;
/** Blobs smaller than this many sampled cells are compression noise at the edge of a marker. */
const MIN_CELLS = 6;

function isMarker(d: Buffer, i: number): boolean {
  const r = d[i] ?? 0;
  const g = d[i + 1] ?? 255;
  const b = d[i + 2] ?? 0;
  return r > 170 && b > 170 && g < 110;
}

/** Bounding boxes of 4-connected marker regions on a grid of every STEP-th pixel. */
export function findMarkerBlobs(image: { data: Buffer; width: number; height: number }): Box[] {
  const { data, width, height } = image;
  const gw = Math.ceil(width / STEP);
  const gh = Math.ceil(height / STEP);
  const mask = new Uint8Array(gw * gh);
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      if (isMarker(data, (gy * STEP * width + gx * STEP) * 3)) mask[gy * gw + gx] = 1;
    }
  }
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== 1) continue;
    mask[start] = 2;
    stack.push(start);
    let cells = 0;
    let [x1, y1, x2, y2] = [gw, gh, -1, -1];
    while (stack.length > 0) {
      const c = stack.pop()!;
      const cx = c % gw;
      const cy = (c - cx) / gw;
      cells++;
      x1 = Math.min(x1, cx);
      y1 = Math.min(y1, cy);
      x2 = Math.max(x2, cx);
      y2 = Math.max(y2, cy);
      const next = [
        cx > 0 ? c - 1 : -1,
        cx < gw - 1 ? c + 1 : -1,
        cy > 0 ? c - gw : -1,
        cy < gh - 1 ? c + gw : -1,
      ];
      for (const n of next) {
        if (n >= 0 && mask[n] === 1) {
          mask[n] = 2;
          stack.push(n);
        }
      }
    }
    if (cells < MIN_CELLS) continue;
    boxes.push([x1 * STEP, y1 * STEP, Math.min(width, (x2 + 1) * STEP), Math.min(height, (y2 + 1) * STEP)]);
  }
  return boxes;
}

function touchesEdge(b: Box, width: number, height: number): boolean {
  return b[0] <= STEP || b[1] <= STEP || b[2] >= width - STEP || b[3] >= height - STEP;
}
