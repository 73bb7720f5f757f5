import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { ModelConfig } from '../../config/schema.js';
import { errorMessage, isPgError } from '../../config/shared/errors.js';
import { createLogger } from '../../config/shared/log.js';
import { bootstrapAp50 } from '../../models/eval/bootstrap.js';
import { buildClassMapping, type ClassMapping, parseMapOption } from '../../models/eval/classes.js';
import { compareReports, comparisonJson, formatComparison } from '../../models/eval/compare.js';
import { EvalUsageError, readDataset } from '../../models/eval/dataset.js';
import { ErrorReport, formatTally } from '../../models/eval/error-report.js';
import { modelFromConfig, modelFromOnnx } from '../../models/eval/model.js';
import {
  formatIntervals,
  formatReport,
  formatSuggestions,
  intervalsJson,
  suggestionsJson,
  toJson,
} from '../../models/eval/report.js';
import { type EvalRunOptions, runEval } from '../../models/eval/run.js';
import { parseGoal, suggestThresholds, ThresholdGoalError } from '../../models/eval/thresholds.js';

export const EVAL_USAGE = `usage: parcelguard eval --model NAME|PATH --data DIR [options]

Scores a model on a YOLO-format dataset through the gateway's own decoding, letterbox, ONNX runtime
and decoders: COCO AP50 and AP50:95 per class and overall, precision/recall at the configured
thresholds, images/s.

  --model NAME          a model declared in the config (--config)
  --model PATH.onnx     an ONNX file; labels.json beside it (or --labels FILE); input and output
                        layout read from the graph, or given with --input/--layout/--dtype/--output
  --data DIR            a folder with data.yaml, a data.yaml file, or a folder with images/ and labels/
  --config FILE         config for --model NAME (default config/examples/demo.yaml)
  --split NAME          data.yaml split to use (default: the first of val, test, train it has)
  --map 'A=a,B=b'       dataset class = model label, for data labelled with other names (repeatable)
  --limit N             evaluate the first N images only
  --workers N           inference worker threads (default: the config's, else min(4, cores))
  --json                print one JSON object: map50, map5095, images, imagesPerSec, perClass
                        (and thresholds, intervals, comparison with the options below)
  --suggest-thresholds precision=P|recall=R
                        also find each label's threshold for that goal on this data: the lowest
                        reaching precision P, or the highest keeping recall R; printed as config
  --compare NAME|PATH   also score this model on the same images and give each AP50 difference
                        a 90 % interval from paired resamples (--bootstrap N of them, default 1000)
  --bootstrap N         also a 90 % interval of each AP50 and of mAP50 from N resamples of the
                        images (e.g. 1000): how far the figures could move on another such set
  --errors DIR          also list every false alarm and miss at the configured thresholds, with its
                        likeliest cause, in DIR/errors.json, and write example crops of each cause
                        to DIR/<label>/<false-alarm|miss>/<cause>/
  --input WxH  --layout nchw|nhwc  --dtype float32|uint8  --output yolov5|yolov8|e2e  --labels FILE
                        for --model PATH only, where the graph leaves them open

exit status: 0 done, 1 evaluation failed, 2 bad arguments, dataset, mapping or model`;

export interface EvalIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const DEFAULT_CONFIG = 'config/examples/demo.yaml';

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string' },
      split: { type: 'string' },
      map: { type: 'string', multiple: true },
      limit: { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'boolean' },
      errors: { type: 'string' },
      'suggest-thresholds': { type: 'string' },
      bootstrap: { type: 'string' },
      compare: { type: 'string' },
      input: { type: 'string' },
      layout: { type: 'string' },
      dtype: { type: 'string' },
      output: { type: 'string' },
      labels: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });

function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new EvalUsageError(`${option}: expected a positive integer, got "${value}"`);
  return n;
}

/** A path when it looks like one (an .onnx name or a separator) or names an existing file. */
function isModelPath(value: string): boolean {
  return (
    /\.onnx$/i.test(value) ||
    value.includes('/') ||
    value.includes('\\') ||
    (existsSync(value) && statSync(value).isFile())
  );
}

interface ResolvedModel {
  model: ModelConfig;
  inference: { workers: number; intraOpThreads: number };
  maxImagePixels?: number;
}

/** Paired resamples for --compare when --bootstrap does not say how many. */
const DEFAULT_RESAMPLES = 1000;

/**
 * A model named in the config or given as an ONNX file. The layout options describe the --model
 * file only (`own`); a --compare file must have labels.json beside it and a graph that says the rest.
 */
async function resolveModel(
  value: string,
  values: ReturnType<typeof parse>['values'],
  own: boolean,
): Promise<ResolvedModel> {
  const inference = { workers: Math.min(4, availableParallelism()), intraOpThreads: 1 };
  if (isModelPath(value)) return { model: await modelFromOnnx(value, own ? values : {}), inference };
  const onnxOnly = (['input', 'layout', 'dtype', 'output', 'labels'] as const).filter((k) => values[k]);
  if (own && onnxOnly.length > 0)
    throw new EvalUsageError(
      `--${onnxOnly.join(', --')}: only with --model PATH.onnx (a configured model has them)`,
    );
  const loaded = modelFromConfig(values.config ?? DEFAULT_CONFIG, value);
  return {
    model: loaded.model,
    inference: loaded.config.inference,
    maxImagePixels: loaded.config.limits.maxImagePixels,
  };
}

/** `parcelguard eval …`; returns the exit status. Results go to `io.out`, notes and errors to `io.err`. */
export async function evalCommand(
  args: string[],
  io: EvalIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const say = (line: string) => io.err.write(`${line}\n`);
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (err) {
    say(`${errorMessage(err)}\n\n${EVAL_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out.write(`${EVAL_USAGE}\n`);
    return 0;
  }
  try {
    if (!values.model || !values.data)
      throw new EvalUsageError(`--model and --data are required\n\n${EVAL_USAGE}`);
    const limit = positiveInt(values.limit, '--limit');
    const workersOpt = positiveInt(values.workers, '--workers');
    const map = parseMapOption(values.map ?? []);
    const goalText = values['suggest-thresholds'];
    const goal = goalText === undefined ? null : parseGoal(goalText);
    const resamples = positiveInt(values.bootstrap, '--bootstrap');

    const main = await resolveModel(values.model, values, true);
    const { model } = main;
    const dataset = await readDataset(values.data, values.split === undefined ? {} : { split: values.split });
    const mappingFor = (m: ModelConfig, what: string) => {
      const mapping = buildClassMapping(
        dataset.names,
        m.labels.map((l) => l.name),
        map,
      );
      if (mapping.present.size === 0) {
        throw new EvalUsageError(
          `no dataset class matches a ${what} label (dataset: ${dataset.names.join(', ')}; model: ` +
            `${m.labels.map((l) => l.name).join(', ')}); use --map 'dataset_class=model_label,…'`,
        );
      }
      return mapping;
    };
    const mapping = mappingFor(model, 'model');
    // Resolved before the first run, so a bad --compare fails in a second, not after the whole set.
    const other = values.compare === undefined ? null : await resolveModel(values.compare, values, false);
    const otherMapping = other ? mappingFor(other.model, '--compare model') : null;
    if (dataset.split === 'train') say('note: evaluating on the train split (no val or test in data.yaml)');

    const total = Math.min(limit ?? dataset.images.length, dataset.images.length);
    const errors =
      values.errors === undefined
        ? null
        : { dir: values.errors, report: new ErrorReport(model.labels.map((l) => l.name)) };
    const tty = 'isTTY' in io.err && io.err.isTTY === true;
    const score = (r: ResolvedModel, m: ClassMapping, onImage?: EvalRunOptions['onImage']) =>
      runEval({
        model: r.model,
        dataset,
        mapping: m,
        workers: workersOpt ?? r.inference.workers,
        intraOpThreads: r.inference.intraOpThreads,
        ...(r.maxImagePixels === undefined ? {} : { maxImagePixels: r.maxImagePixels }),
        ...(limit === undefined ? {} : { limit }),
        log: createLogger({ level: 'warn', destination: io.err }),
        ...(tty ? { onProgress: (n: number) => io.err.write(`\r  ${n}/${total} images`) } : {}),
        ...(onImage ? { onImage } : {}),
      }).catch((err: unknown) => {
        // A model that does not load or does not fit its declared layout is the user's input, like a bad path.
        if (isPgError(err) && (err.code === 'MODEL_LOAD' || err.code === 'MODEL_SHAPE'))
          throw new EvalUsageError(err.message);
        throw err;
      });
    const report = await score(main, mapping, errors?.report.collect(mapping.present));
    if (tty) io.err.write('\n');
    const otherReport = other && otherMapping ? await score(other, otherMapping) : null;
    if (tty && otherReport) io.err.write('\n');
    const comparison = otherReport
      ? compareReports(report, otherReport, resamples ?? DEFAULT_RESAMPLES)
      : null;

    const suggestions = goal === null ? null : suggestThresholds(report.classes, goal);
    const boot =
      resamples === undefined
        ? null
        : bootstrapAp50(
            report.classes.map((c) => (c.inDataset ? c : null)),
            report.images,
            resamples,
          );
    if (values.json) {
      io.out.write(
        `${JSON.stringify({
          ...toJson(report),
          ...(goal && suggestions ? { thresholds: suggestionsJson(goal, suggestions) } : {}),
          ...(boot ? { intervals: intervalsJson(report, boot) } : {}),
          ...(comparison ? { comparison: comparisonJson(comparison) } : {}),
        })}\n`,
      );
    } else {
      io.out.write(`${formatReport(report)}\n`);
      if (boot) io.out.write(`\n${formatIntervals(report, boot)}\n`);
      if (comparison) io.out.write(`\n${formatComparison(comparison)}\n`);
      if (goal && suggestions) io.out.write(`\n${formatSuggestions(goal, suggestions)}\n`);
    }
    if (errors) {
      const crops = await errors.report.write(errors.dir);
      const text = `${formatTally(errors.report.tally(), errors.dir)}\n(${crops} example crops)`;
      // With --json, stdout holds the JSON object alone.
      if (values.json) say(text);
      else io.out.write(`\n${text}\n`);
    }
    if (values.json) {
      // The JSON has room for nothing else; what was left out of the scoring still deserves a word.
      const absent = report.classes.filter((c) => !c.inDataset).map((c) => c.label);
      if (absent.length > 0)
        say(`note: model labels with no dataset class (not scored): ${absent.join(', ')}`);
      if (report.excluded.length > 0)
        say(
          `note: dataset classes the model does not know (excluded; see --map): ${report.excluded.map((e) => `${e.name} (${e.gt} boxes)`).join(', ')}`,
        );
    }
    if (values.json && report.failed.length > 0) {
      say(`${report.failed.length} image(s) could not be evaluated and are left out:`);
      for (const f of report.failed.slice(0, 10)) say(`  ${f.path}: ${f.error}`);
    }
    if (report.images === 0) {
      say('no image could be evaluated');
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof EvalUsageError || err instanceof ThresholdGoalError) {
      say(`parcelguard eval: ${err.message}`);
      return 2;
    }
    say(`parcelguard eval failed: ${errorMessage(err)}`);
    return 1;
  }
}
