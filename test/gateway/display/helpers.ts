import { Writable } from 'node:stream';
import type { VideoFrame } from '../../../adapters/rtsp/reader.js';
import { type ModelConfig, modelSchema } from '../../../config/schema.js';
import { createLogger, type Logger } from '../../../config/shared/log.js';
import type { Box, Category, Detection } from '../../../config/shared/types.js';
import type { DisplayAlert, DisplayAlertSink } from '../../../gateway/display/screener.js';
import type { DetectorPort } from '../../../gateway/pipeline/screen.js';

/** A logger whose lines are kept, parsed, for assertions. */
export function captureLog(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/** A model config as the gateway would hold it, only for its labels (LabelPolicy). */
export function modelConfig(
  name: string,
  labels: Array<{ name: string; category?: Category; alarm?: boolean }>,
): ModelConfig {
  return modelSchema.parse({
    name,
    version: 'test',
    path: `${name}.onnx`,
    input: { width: 64, height: 64 },
    output: 'yolov8',
    labels: labels.map((l) => ({ category: 'prohibited', ...l })),
  });
}

export function detection(label: string, box: Box, score = 0.8, model = 'm'): Detection {
  return {
    label,
    category: 'prohibited',
    score,
    box,
    view: 'display',
    model: { name: model, version: 'test' },
  };
}

/** A frame whose ROI pixels all hold `inside` and the rest `outside`, so a crop can be checked exactly. */
export function frame(
  seq: number,
  o: { width: number; height: number; roi: { left: number; top: number; width: number; height: number } },
  receivedAt = 1_000_000 + seq * 100,
  inside = 7,
  outside = 200,
): VideoFrame {
  const data = Buffer.alloc(o.width * o.height * 3, outside);
  for (let y = o.roi.top; y < o.roi.top + o.roi.height; y++) {
    const row = (y * o.width + o.roi.left) * 3;
    data.fill(inside, row, row + o.roi.width * 3);
  }
  return { streamId: 'cam', seq, width: o.width, height: o.height, data, receivedAt };
}

/** Answers each detect() call with the next scripted list; records what it was asked. */
export class ScriptedDetector implements DetectorPort {
  readonly calls: Array<{ width: number; height: number; view: string; models: string[]; data: Buffer }> = [];
  private readonly script: Array<Detection[] | Error>;

  constructor(script: Array<Detection[] | Error>) {
    this.script = [...script];
  }

  async detect(
    image: { data: Buffer; width: number; height: number },
    view: string,
    modelNames: readonly string[],
  ): Promise<Detection[]> {
    this.calls.push({
      width: image.width,
      height: image.height,
      view,
      models: [...modelNames],
      data: image.data,
    });
    const next = this.script.shift() ?? [];
    if (next instanceof Error) throw next;
    return next;
  }

  modelInfo(): Array<{ name: string; version: string }> {
    return [{ name: 'm', version: 'test' }];
  }
}

export interface RaiseCall extends DisplayAlert {
  alertId: string;
}

/** Records raise/improve calls; `failRaises` makes that many raises fail first; `delayMs` slows each call. */
export class RecordingSink implements DisplayAlertSink {
  readonly raised: RaiseCall[] = [];
  readonly improved: Array<{ alertId: string } & Omit<DisplayAlert, 'cameraId' | 'trackId'>> = [];
  failRaises = 0;
  delayMs = 0;
  private n = 0;

  async raise(a: DisplayAlert): Promise<string> {
    await this.delay();
    if (this.failRaises > 0) {
      this.failRaises--;
      throw new Error('store is down');
    }
    const alertId = `A${++this.n}`;
    this.raised.push({ ...a, alertId });
    return alertId;
  }

  async improve(alertId: string, a: Omit<DisplayAlert, 'cameraId' | 'trackId'>): Promise<void> {
    await this.delay();
    this.improved.push({ alertId, ...a });
  }

  /** The newest picture of each alert: the raise's, replaced by each improvement. */
  latest(): Map<string, { frameSeq: number; items: Detection[] }> {
    const out = new Map<string, { frameSeq: number; items: Detection[] }>();
    for (const r of this.raised) out.set(r.alertId, r);
    for (const i of this.improved) out.set(i.alertId, i);
    return out;
  }

  private delay(): Promise<void> {
    return this.delayMs > 0 ? new Promise((r) => setTimeout(r, this.delayMs)) : Promise.resolve();
  }
}

export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function iou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}
