import { asPair, type BootstrapResult } from './bootstrap.js';
import type { ClassReport, EvalReport } from './run.js';
import type { LabelSuggestion, OperatingPoint, ThresholdGoal } from './thresholds.js';

/**
 * How an evaluation is shown: a table for people, one JSON object for scripts and CI. The JSON keeps
 * to a fixed set of keys (map50, map5095, images, imagesPerSec, perClass) so a CI check written
 * against it does not break when the table gains a column.
 */

export interface ClassJson {
  ap50: number | null;
  ap5095: number | null;
  precision: number | null;
  recall: number | null;
  /** Ground-truth boxes; null when no dataset class maps to the label. */
  gt: number | null;
}

export interface EvalJson {
  /** Mean over the labels that have ground truth; null when none has. */
  map50: number | null;
  map5095: number | null;
  images: number;
  imagesPerSec: number;
  /** Every model label, in the model's order. */
  perClass: Record<string, ClassJson>;
}

export function toJson(report: EvalReport): EvalJson {
  const perClass: Record<string, ClassJson> = {};
  for (const c of report.classes) {
    perClass[c.label] = {
      ap50: c.ap50,
      ap5095: c.ap5095,
      precision: c.precision,
      recall: c.recall,
      gt: c.inDataset ? c.gt : null,
    };
  }
  return {
    map50: report.map50,
    map5095: report.map5095,
    images: report.images,
    imagesPerSec: Math.round(report.imagesPerSec * 100) / 100,
    perClass,
  };
}

export const num = (v: number | null, digits = 3): string => (v === null ? '—' : v.toFixed(digits));

/** Names left-aligned, figures right-aligned; shared by eval's other tables. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  // Names left-aligned, figures right-aligned so decimals line up.
  return rows
    .map((r) =>
      r
        .map((cell, col) => (col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function classRow(c: ClassReport): string[] {
  return [
    c.label,
    num(c.ap50),
    num(c.ap5095),
    num(c.precision),
    num(c.recall),
    c.inDataset ? String(c.gt) : '—',
    String(c.detections),
    c.threshold.toFixed(2),
  ];
}

/** The human-readable report: header, per-class table, overall line, then what was left out and why. */
export function formatReport(report: EvalReport): string {
  const where = report.dataset.split
    ? `${report.dataset.source} [${report.dataset.split}]`
    : report.dataset.source;
  const lines = [
    `model ${report.model.name} (${report.model.version}, ${report.model.path})`,
    `data  ${where}`,
    `      ${report.images} image(s)${report.unlabelled > 0 ? `, ${report.unlabelled} without a label file (no objects)` : ''}, ` +
      `${report.imagesPerSec.toFixed(1)} images/s (decode + letterbox + inference, ${report.seconds.toFixed(1)} s)`,
    '',
    table([
      ['class', 'AP50', 'AP50:95', 'P', 'R', 'GT', 'dets', 'thr'],
      ...report.classes.map(classRow),
      [
        'all (mAP)',
        num(report.map50),
        num(report.map5095),
        '',
        '',
        String(report.classes.reduce((n, c) => n + (c.inDataset ? c.gt : 0), 0)),
        String(report.classes.reduce((n, c) => n + c.detections, 0)),
        '',
      ],
    ]),
    '',
    "AP: COCO 101-point, detector at score >= 0.001; P, R and dets: at each label's configured threshold (thr), IoU 0.50.",
    'mAP averages the labels with ground truth; a label with none has no AP (—).',
  ];
  const absent = report.classes.filter((c) => !c.inDataset).map((c) => c.label);
  if (absent.length > 0) lines.push(`model labels with no dataset class (not scored): ${absent.join(', ')}`);
  if (report.excluded.length > 0) {
    lines.push(
      `dataset classes the model does not know (excluded; see --map): ${report.excluded.map((e) => `${e.name} (${e.gt} boxes)`).join(', ')}`,
    );
  }
  if (report.failed.length > 0) {
    lines.push(`${report.failed.length} image(s) could not be evaluated and are left out:`);
    for (const f of report.failed.slice(0, 10)) lines.push(`  ${f.path}: ${f.error}`);
    if (report.failed.length > 10) lines.push(`  … and ${report.failed.length - 10} more`);
  }
  return lines.join('\n');
}

export interface SuggestionJson {
  goal: string;
  /** Labels with ground truth; threshold null where no threshold meets the goal on this data. */
  perClass: Record<
    string,
    { threshold: number | null; precision: number | null; recall: number | null; detections: number | null }
  >;
}

const goalText = (goal: ThresholdGoal): string => `${goal.kind}=${goal.value}`;

export function suggestionsJson(
  goal: ThresholdGoal,
  suggestions: readonly LabelSuggestion[],
): SuggestionJson {
  const perClass: SuggestionJson['perClass'] = {};
  for (const s of suggestions) {
    const p = s.suggested;
    perClass[s.label] = {
      threshold: p?.threshold ?? null,
      precision: p?.precision ?? null,
      recall: p?.recall ?? null,
      detections: p?.detections ?? null,
    };
  }
  return { goal: goalText(goal), perClass };
}

const point = (p: OperatingPoint): string[] => [
  p.threshold.toFixed(3),
  num(p.precision),
  num(p.recall),
  String(p.detections),
];

/**
 * The suggestions as a table (configured threshold beside suggested) and as the `labels:` entries to
 * paste into the model's config, so nobody copies a figure by hand.
 */
export function formatSuggestions(goal: ThresholdGoal, suggestions: readonly LabelSuggestion[]): string {
  const rows = suggestions.map((s) => [
    s.label,
    String(s.gt),
    ...point(s.current),
    ...(s.suggested ? point(s.suggested) : ['none', '', '', '']),
  ]);
  const unmet = suggestions.filter((s) => s.suggested === null).map((s) => s.label);
  const yaml = suggestions
    .filter((s) => s.suggested !== null)
    .map((s) => `  - { name: ${s.label}, threshold: ${s.suggested?.threshold.toFixed(3)} }`);
  return [
    `thresholds for ${goalText(goal)} on this data (IoU 0.50; before the per-image maxDetections cap):`,
    '',
    table([['class', 'GT', 'thr', 'P', 'R', 'dets', 'suggested', 'P', 'R', 'dets'], ...rows]),
    ...(unmet.length > 0
      ? [
          '',
          `no threshold meets ${goalText(goal)} for: ${unmet.join(', ')} (the model needs training, not tuning)`,
        ]
      : []),
    ...(yaml.length > 0
      ? [
          '',
          "in the model's labels (keep each label's category; tune on scans the model was not trained on,",
          'and check the figures on another set before relying on them):',
          ...yaml,
        ]
      : []),
  ].join('\n');
}

export interface IntervalJson {
  resamples: number;
  /** [lo, hi] of a 90 % bootstrap interval; null where there is no AP. */
  map50: [number, number] | null;
  perClass: Record<string, [number, number] | null>;
}

export function intervalsJson(report: EvalReport, boot: BootstrapResult): IntervalJson {
  const perClass: IntervalJson['perClass'] = {};
  report.classes.forEach((c, i) => {
    perClass[c.label] = asPair(boot.perClass[i]);
  });
  return { resamples: boot.resamples, map50: asPair(boot.map50), perClass };
}

/** Each AP50 with its interval, so two models' figures are read against how much they could move. */
export function formatIntervals(report: EvalReport, boot: BootstrapResult): string {
  const span = (i: { lo: number; hi: number } | null | undefined) =>
    i ? `${i.lo.toFixed(3)} – ${i.hi.toFixed(3)}` : '—';
  return [
    `AP50 with a 90 % interval from ${boot.resamples} resamples of the ${report.images} images (bootstrap):`,
    '',
    table([
      ['class', 'AP50', 'interval'],
      ...report.classes.map((c, i) => [c.label, num(c.ap50), span(boot.perClass[i])]),
      ['all (mAP)', num(report.map50), span(boot.map50)],
    ]),
    '',
    'Two models whose intervals overlap widely may not differ at all; compare them on the same images',
    'and prefer a larger set to a finer figure.',
  ].join('\n');
}
