import type { ClassReport, EvalReport } from './run.js';

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

const num = (v: number | null, digits = 3): string => (v === null ? '—' : v.toFixed(digits));

function table(rows: string[][]): string {
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
