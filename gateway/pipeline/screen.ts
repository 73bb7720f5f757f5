import { PgError } from '../../config/shared/errors.js';
import type { Detection } from '../../config/shared/types.js';
import type { ScreenedView, Screening } from '../alerts/engine.js';
import type { ScanRecord } from '../store/scans.js';
import { type BmpDecode, decodeView } from './decode.js';

/** What the pipeline needs of the inference core (models/detector.ts implements it). */
export interface DetectorPort {
  detect(
    image: { data: Buffer; width: number; height: number },
    view: string,
    modelNames: readonly string[],
  ): Promise<Detection[]>;
  modelInfo(): Array<{ name: string; version: string }>;
}

export interface ScreenOptions {
  detector: DetectorPort;
  modelsOf: (sourceId: string) => readonly string[];
  maxPixels: number;
  bmpDecode?: BmpDecode;
  observeInference?: (sourceId: string, ms: number) => void;
}

/** Decode every view once, run every model of the source on every view, both views in parallel. */
export async function screenScan(scan: ScanRecord, o: ScreenOptions): Promise<Screening> {
  const t0 = performance.now();
  const images = scan.files.filter((f) => f.kind === 'image');
  if (images.length === 0) throw new PgError('IMAGE_EMPTY', 'scan has no image');
  const views = await Promise.all(images.map((f) => decodeView(f, o.maxPixels, o.bmpDecode)));
  const t1 = performance.now();
  const names = o.modelsOf(scan.sourceId);
  const perView = await Promise.all(
    views.map(async (v) => {
      const s = performance.now();
      const found = await o.detector.detect({ data: v.rgb, width: v.width, height: v.height }, v.view, names);
      o.observeInference?.(scan.sourceId, performance.now() - s);
      return found;
    }),
  );
  const t2 = performance.now();
  const wanted = new Set(names);
  return {
    views: views as ScreenedView[],
    detections: perView.flat(),
    models: o.detector.modelInfo().filter((m) => wanted.has(m.name)),
    timings: {
      decodeMs: round(t1 - t0),
      inferMs: round(t2 - t1),
      queueMs: round(Date.now() - scan.receivedAt - (t2 - t0)),
    },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
