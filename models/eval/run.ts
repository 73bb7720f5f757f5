import { basename } from 'node:path';
import type { ModelConfig } from '../../config/schema.js';
import { errorMessage } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';
import type { Detection } from '../../config/shared/types.js';
import { type DecodedView, decodeView } from '../../gateway/pipeline/decode.js';
import { labelThresholds } from '../decode/decode.js';
import { createOnnxDetector } from '../detector.js';
import { ApAccumulator, type EvalBox, type EvalDetection, type ImageRankedDetection, meanAp } from './ap.js';
import type { ClassMapping } from './classes.js';
import { type DatasetImage, toPixelBoxes, type YoloDataset } from './dataset.js';

/**
 * Runs a model over a dataset through the gateway's own path: decodeView (as a scan's image is
 * decoded), then the real ONNX detector (letterbox, worker threads, decoders, NMS, mapping back to
 * source pixels), and scores the detections.
 *
 * AP needs the whole precision/recall curve, so the detector runs with a score threshold of 0.001
 * and up to 300 detections per image, as COCO evaluation does; precision and recall are then taken
 * over the detections that clear each label's configured threshold (within the configured
 * maxDetections), i.e. what the gateway would report. One pass serves both. The one case where the
 * two can differ from a run at the configured thresholds: an anchor whose best class fails its own
 * threshold while a weaker class on the same anchor passes its own is reported by the gateway as the
 * weaker class, but here as the best class, then filtered out (see models/decode/yolo.ts).
 */

export const EVAL_SCORE_THRESHOLD = 0.001;
export const EVAL_MAX_DETECTIONS = 300;

/** The model as evaluation runs it: every threshold lowered to 0.001, room for 300 detections. */
export function lowThresholdModel(model: ModelConfig): ModelConfig {
  const low = (t: number) => Math.min(t, EVAL_SCORE_THRESHOLD);
  return {
    ...model,
    scoreThreshold: low(model.scoreThreshold),
    labels: model.labels.map((l) => ({ ...l, threshold: low(l.threshold ?? model.scoreThreshold) })),
    maxDetections: Math.max(model.maxDetections, EVAL_MAX_DETECTIONS),
  };
}

export interface EvalRunOptions {
  model: ModelConfig;
  dataset: YoloDataset;
  mapping: ClassMapping;
  workers: number;
  intraOpThreads: number;
  maxImagePixels?: number;
  /** Evaluate the first N images only (in sorted order). */
  limit?: number;
  log: Logger;
  onProgress?: (done: number, total: number) => void;
  /**
   * Each image as it is scored (in completion order; `order` is its place in the dataset), with its
   * decoded pixels, for what looks closer than AP (eval --errors). A failure there fails the run.
   */
  onImage?: (scored: ScoredImage) => Promise<void>;
}

export interface ScoredImage {
  order: number;
  image: DatasetImage;
  view: Pick<DecodedView, 'rgb' | 'width' | 'height'>;
  gt: EvalBox[];
  dets: EvalDetection[];
}

export interface ClassReport {
  label: string;
  /** False when no dataset class maps to this label: nothing to score it against. */
  inDataset: boolean;
  /** The configured threshold precision and recall are taken at. */
  threshold: number;
  gt: number;
  /** Detections at the configured threshold. */
  detections: number;
  truePositives: number;
  ap50: number | null;
  ap5095: number | null;
  precision: number | null;
  recall: number | null;
  /** Every detection of the label with whether it took a box at IoU 0.50 (the AP50 curve); empty when not inDataset. */
  ranked: ImageRankedDetection[];
  /** Its ground-truth boxes in each image evaluated, in dataset order (for eval --bootstrap). */
  gtPerImage: readonly number[];
}

export interface EvalReport {
  model: { name: string; version: string; path: string };
  dataset: { source: string; split: string | null };
  /** Images evaluated (failed ones excluded). */
  images: number;
  /** Images with no label file among them (background images). */
  unlabelled: number;
  failed: Array<{ path: string; error: string }>;
  /** Wall time from the first image to the last, detector already warm. */
  seconds: number;
  imagesPerSec: number;
  map50: number | null;
  map5095: number | null;
  classes: ClassReport[];
  /** Dataset classes the model does not know, with their box counts in the images evaluated. */
  excluded: Array<{ name: string; gt: number }>;
}

/** Marks the detections the gateway would report: configured threshold, then configured maxDetections. */
function markCounted(
  dets: ReadonlyArray<{ cls: number; score: number; box: Detection['box'] }>,
  thresholds: readonly number[],
  maxDetections: number,
): EvalDetection[] {
  const order = dets.map((_, i) => i).sort((a, b) => (dets[b]?.score ?? 0) - (dets[a]?.score ?? 0));
  const counted = new Set<number>();
  for (const i of order) {
    const d = dets[i];
    if (d === undefined || counted.size >= maxDetections) break;
    if (d.score >= (thresholds[d.cls] ?? 1)) counted.add(i);
  }
  return dets.map((d, i) => ({ ...d, counted: counted.has(i) }));
}

export async function runEval(opts: EvalRunOptions): Promise<EvalReport> {
  const { model, dataset, mapping } = opts;
  const images = dataset.images.slice(0, opts.limit ?? dataset.images.length);
  const labelIndex = new Map<string, number>();
  model.labels.forEach((l, i) => {
    if (!labelIndex.has(l.name)) labelIndex.set(l.name, i);
  });
  const thresholds = labelThresholds(model);
  const acc = new ApAccumulator(model.labels.length);
  const excludedGt = new Array<number>(dataset.names.length).fill(0);
  const failed: EvalReport['failed'] = [];

  const detector = createOnnxDetector(
    [lowThresholdModel(model)],
    { workers: opts.workers, intraOpThreads: opts.intraOpThreads },
    opts.log,
  );
  try {
    await detector.start(new AbortController().signal);
  } catch (err) {
    await detector.stop(); // a failed start may have left some workers up
    throw err;
  }
  const started = performance.now();
  try {
    type Outcome = { gt: EvalBox[]; dets: EvalDetection[] } | null;
    const one = async (im: DatasetImage, order: number): Promise<Outcome> => {
      let scored: ScoredImage;
      try {
        const file = {
          kind: 'image' as const,
          view: 'main',
          originalName: basename(im.path),
          from: im.path,
          to: im.path,
        };
        const view = await decodeView(file, opts.maxImagePixels ?? 40_000_000);
        const found = await detector.detect(
          { data: view.rgb, width: view.width, height: view.height },
          'main',
          [model.name],
        );
        const gt: EvalBox[] = [];
        for (const g of toPixelBoxes(im.objects, view.width, view.height)) {
          const cls = mapping.toModel[g.cls];
          if (cls === null || cls === undefined) excludedGt[g.cls] = (excludedGt[g.cls] ?? 0) + 1;
          else gt.push({ cls, box: g.box });
        }
        const raw = found.map((d) => ({ cls: labelIndex.get(d.label) ?? -1, score: d.score, box: d.box }));
        scored = { order, image: im, view, gt, dets: markCounted(raw, thresholds, model.maxDetections) };
      } catch (err) {
        failed.push({ path: im.path, error: errorMessage(err) });
        return null;
      }
      // Outside the image's own try: a failure there is the evaluation's, and must not drop the image from AP.
      await opts.onImage?.(scored);
      return { gt: scored.gt, dets: scored.dets };
    };

    // A few images in flight per worker keep every worker busy while the next ones decode. Results
    // are added in image order so that tied scores rank the same way on every run.
    const inFlight = Math.max(2, opts.workers * 2);
    const done = new Map<number, Outcome>();
    let nextToAdd = 0;
    let nextToStart = 0;
    let evaluated = 0;
    const lane = async (): Promise<void> => {
      while (nextToStart < images.length) {
        const i = nextToStart++;
        done.set(i, await one(images[i] as DatasetImage, i));
        while (done.has(nextToAdd)) {
          const o = done.get(nextToAdd);
          done.delete(nextToAdd++);
          if (o) {
            acc.addImage(o.gt, o.dets);
            evaluated++;
          }
        }
        opts.onProgress?.(nextToAdd, images.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, images.length) }, lane));
    const seconds = (performance.now() - started) / 1000;

    const results = acc.results();
    const classes: ClassReport[] = model.labels.map((l, i) => {
      const r = results[i];
      if (r === undefined) throw new Error(`no result for label ${i}`);
      const inDataset = mapping.present.has(i);
      return {
        label: l.name,
        inDataset,
        threshold: thresholds[i] as number,
        gt: r.gt,
        detections: r.detections,
        truePositives: r.truePositives,
        ap50: r.ap50,
        ap5095: r.ap5095,
        // A label the dataset has no class for cannot be scored: its detections are neither right nor wrong.
        precision: inDataset ? r.precision : null,
        recall: r.recall,
        ranked: inDataset ? acc.ranked50(i) : [],
        gtPerImage: inDataset ? acc.gtPerImage(i) : [],
      };
    });
    return {
      model: { name: model.name, version: model.version, path: model.path },
      dataset: { source: dataset.source, split: dataset.split },
      images: evaluated,
      unlabelled: images.filter((im) => !im.labelled).length,
      failed: failed.sort((a, b) => (a.path < b.path ? -1 : 1)),
      seconds,
      imagesPerSec: seconds > 0 ? evaluated / seconds : 0,
      map50: meanAp(results, 'ap50'),
      map5095: meanAp(results, 'ap5095'),
      classes,
      excluded: dataset.names.flatMap((name, i) =>
        mapping.toModel[i] === null ? [{ name, gt: excludedGt[i] ?? 0 }] : [],
      ),
    };
  } finally {
    await detector.stop();
  }
}
