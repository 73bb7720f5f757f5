/**
 * A captured X-ray operator display, as a video file: parcels from the synthetic generator laid end to
 * end on a belt strip that scrolls left across the scan area at a constant speed, framed by the
 * machine's UI (a title bar, a side panel, a status bar). The UI carries marker-coloured icons on
 * purpose: screening that does not cut it away with the ROI finds "threats" that never move.
 *
 * Each threat's ground-truth box is tinted with a marker colour (magenta, which no generator palette
 * uses), so a test double can find threats from the pixels while everything else is real. The status
 * bar carries the frame number as a 10-bit code, so a test can tell which video frame a decoded frame
 * was and map boxes back onto the strip.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../config/shared/types.js';
import { CATEGORY, generateScan, type ThreatClass } from '../../models/synth/index.js';

export const MARKER: readonly [number, number, number] = [255, 0, 255];

export type ParcelKind = 'threat' | 'clean';

export interface ScrollingXrayOptions {
  /** Folder for the video file. */
  dir: string;
  /** What rides the belt, in order; default threat, clean, threat, threat, clean, threat. */
  plan?: readonly ParcelKind[];
  /** Seeds are searched upwards from seed × 1000; default 7. */
  seed?: number;
  fps?: number;
  /** Belt speed in pixels per frame; default 30. */
  speed?: number;
  /**
   * Frames of empty belt before the first parcel comes in; default 36. A reader's first second or
   * three arrive in one burst (ffmpeg probes the stream before it decodes), and a newest-wins reader
   * drops most of a burst: nothing should happen on the belt meanwhile.
   */
  leadFrames?: number;
}

export interface GroundTruthThreat {
  label: string;
  category: string;
  /** On the strip (x: along the belt, y: across it = scan-area rows). */
  box: Box;
}

export interface GroundTruthParcel {
  index: number;
  seed: number;
  kind: ParcelKind;
  /** Strip columns the parcel occupies. */
  x1: number;
  x2: number;
  threats: GroundTruthThreat[];
}

export interface ScrollingXray {
  file: string;
  fps: number;
  width: number;
  height: number;
  frames: number;
  speed: number;
  /** From this frame on the scan area shows empty belt only: every parcel has scrolled out. */
  clearFrom: number;
  /** Where the scan image is, as fractions of the picture (the camera's `display.roi`). */
  roi: { x: number; y: number; width: number; height: number };
  parcels: GroundTruthParcel[];
  /** The frame number drawn into a decoded picture's status bar (any scale of the video). */
  frameNumber(picture: { data: Buffer; width: number; height: number }): number;
  /** A box in ROI pixels of video frame `n` (ROI picture at the video's size) → strip coordinates. */
  toStrip(box: Box, n: number): Box;
}

const W = 640;
const H = 360;
/** The scan area: under the title bar, left of the side panel, above the status bar. */
const SCAN = { left: 0, top: 40, width: 560, height: 280 };
const BELT: readonly [number, number, number] = [246, 246, 241];
const GAP = 70;
const TAIL_FRAMES = 15;
const BITS = 10;
const bitCell = (i: number) => ({ x: 20 + 16 * i, y: 334, w: 12, h: 12 });

export async function buildScrollingXray(o: ScrollingXrayOptions): Promise<ScrollingXray> {
  const plan = o.plan ?? ['threat', 'clean', 'threat', 'threat', 'clean', 'threat'];
  const fps = o.fps ?? 10;
  const speed = o.speed ?? 30;
  const views = pickParcels(plan, o.seed ?? 7);

  // The strip: a scan area of empty belt and the lead first (parcels scroll in from the right),
  // parcels with gaps, then a scan area and a tail of empty belt (the last parcel scrolls fully out).
  let x = SCAN.width + (o.leadFrames ?? 36) * speed;
  const parcels: GroundTruthParcel[] = views.map((v, index) => {
    const p: GroundTruthParcel = {
      index,
      seed: v.seed,
      kind: v.kind,
      x1: x,
      x2: x + v.width,
      threats: v.boxes.map((b) => ({
        label: b.label,
        category: CATEGORY[b.label as ThreatClass],
        box: [x + b.x1, b.y1, x + b.x2, b.y2],
      })),
    };
    x += v.width + GAP;
    return p;
  });
  // Empty belt after the last parcel has scrolled out: frames in which nothing may happen.
  const stripWidth = x + SCAN.width + TAIL_FRAMES * speed;
  const markers = parcels.flatMap((p) => p.threats.map((t) => t.box));
  const strip = await sharp({
    create: { width: stripWidth, height: SCAN.height, channels: 3, background: rgb(BELT) },
  })
    .composite([
      ...views.map((v, i) => ({
        input: v.rgb,
        raw: { width: v.width, height: v.height, channels: 3 as const },
        left: parcels[i]!.x1,
        top: 0,
      })),
      ...markers.map(([x1, y1, x2, y2]) => ({
        input: {
          create: { width: x2 - x1, height: y2 - y1, channels: 4 as const, background: marker(0.85) },
        },
        left: x1,
        top: y1,
      })),
    ])
    .removeAlpha()
    .raw()
    .toBuffer();

  const frames = Math.floor((stripWidth - SCAN.width) / speed) + 1;
  const file = join(o.dir, 'scrolling-xray.mp4');
  await encode(file, fps, frames, (n) => renderFrame(strip, stripWidth, n * speed, n));
  return {
    file,
    fps,
    width: W,
    height: H,
    frames,
    speed,
    clearFrom: Math.ceil(parcels.at(-1)!.x2 / speed),
    roi: { x: SCAN.left / W, y: SCAN.top / H, width: SCAN.width / W, height: SCAN.height / H },
    parcels,
    frameNumber: readFrameNumber,
    toStrip: (b, n) => [b[0] + n * speed, b[1], b[2] + n * speed, b[3]],
  };
}

interface PickedView {
  seed: number;
  kind: ParcelKind;
  width: number;
  height: number;
  rgb: Buffer;
  boxes: Array<{ label: string; x1: number; y1: number; x2: number; y2: number }>;
}

/**
 * Threat parcels carry exactly one threat large enough to survive H.264's colour subsampling, so
 * "one alert per parcel with a threat" is also "one per threat"; clean parcels carry none.
 */
function pickParcels(plan: readonly ParcelKind[], seed: number): PickedView[] {
  let next = seed * 1000;
  return plan.map((kind) => {
    for (let tries = 0; tries < 500; tries++) {
      const s = next++;
      const threatRate = kind === 'threat' ? { prohibited: 0.7, drug: 0.3 } : { prohibited: 0, drug: 0 };
      const v = generateScan({ seed: s, height: SCAN.height, threatRate }).views[0]!;
      const ok =
        kind === 'clean'
          ? v.boxes.length === 0
          : v.boxes.length === 1 && v.boxes.every((b) => b.x2 - b.x1 >= 18 && b.y2 - b.y1 >= 18);
      if (ok) return { seed: s, kind, ...v };
    }
    throw new Error(`no ${kind} parcel found from seed ${seed * 1000}`);
  });
}

let overlay: Buffer | null = null;

/** The machine's UI, drawn once: everything outside the scan area. */
function uiOverlay(): Buffer {
  if (overlay) return overlay;
  const buf = Buffer.alloc(W * H * 3);
  fillRect(buf, 0, 0, W, H, [30, 32, 40]);
  fillRect(buf, 0, 0, W, 40, [40, 44, 60]); // title bar
  fillRect(buf, 12, 12, 140, 14, [200, 200, 210]); // "machine name"
  fillRect(buf, 170, 12, 60, 14, [90, 200, 90]); // "ready"
  fillRect(buf, 592, 8, 30, 24, MARKER); // vendor logo, in the marker colour
  fillRect(buf, 560, 40, 80, 280, [70, 70, 80]); // side panel
  fillRect(buf, 572, 60, 56, 30, [230, 140, 40]); // "organic" button
  fillRect(buf, 572, 110, 56, 30, [60, 120, 220]); // "metal" button
  fillRect(buf, 572, 160, 56, 40, MARKER); // "threat library" button
  fillRect(buf, 0, 320, W, 40, [40, 44, 60]); // status bar
  fillRect(buf, 500, 332, 34, 16, MARKER); // "TIP" indicator
  overlay = buf;
  return buf;
}

function renderFrame(strip: Buffer, stripWidth: number, offset: number, n: number): Buffer {
  const frame = Buffer.from(uiOverlay());
  for (let y = 0; y < SCAN.height; y++) {
    const src = (y * stripWidth + offset) * 3;
    strip.copy(frame, ((SCAN.top + y) * W + SCAN.left) * 3, src, src + SCAN.width * 3);
  }
  for (let i = 0; i < BITS; i++) {
    const c = bitCell(i);
    fillRect(frame, c.x, c.y, c.w, c.h, (n >> i) & 1 ? [255, 255, 255] : [0, 0, 0]);
  }
  return frame;
}

function readFrameNumber(p: { data: Buffer; width: number; height: number }): number {
  let n = 0;
  for (let i = 0; i < BITS; i++) {
    const c = bitCell(i);
    const px = Math.floor(((c.x + c.w / 2) * p.width) / W);
    const py = Math.floor(((c.y + c.h / 2) * p.height) / H);
    if ((p.data[(py * p.width + px) * 3 + 1] ?? 0) > 128) n |= 1 << i;
  }
  return n;
}

/** H.264 in MP4, no B-frames, a key frame every second: what a display encoder sends. */
async function encode(
  file: string,
  fps: number,
  frames: number,
  render: (n: number) => Buffer,
): Promise<void> {
  const ff = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', 'pipe:0'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-bf', '0', '-g', String(fps)],
      ...['-pix_fmt', 'yuv420p', '-movflags', '+faststart', file],
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ff.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let exited = false;
  const done = new Promise<void>((resolve, reject) => {
    ff.once('error', reject);
    ff.once('exit', (code) => {
      exited = true;
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited ${code}: ${stderr}`));
    });
  });
  // A dying ffmpeg closes its stdin; the exit above carries the reason, so the pipe error adds nothing.
  ff.stdin.on('error', (err) => {
    stderr += `\n(stdin: ${err.message})`;
  });
  for (let n = 0; n < frames && !exited; n++) {
    if (!ff.stdin.write(render(n)))
      await Promise.race([new Promise((r) => ff.stdin.once('drain', r)), done.catch(() => undefined)]);
  }
  ff.stdin.end();
  await done;
}

function fillRect(buf: Buffer, x: number, y: number, w: number, h: number, c: readonly number[]): void {
  const pattern = Buffer.from(c);
  for (let row = y; row < y + h; row++) buf.fill(pattern, (row * W + x) * 3, (row * W + x + w) * 3);
}

function rgb(c: readonly [number, number, number]) {
  return { r: c[0], g: c[1], b: c[2] };
}

function marker(alpha: number) {
  return { r: MARKER[0], g: MARKER[1], b: MARKER[2], alpha };
}
