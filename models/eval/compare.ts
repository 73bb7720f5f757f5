import { asPair, type Interval, meanOf, pairedBootstrapAp50 } from './bootstrap.js';
import { num, table } from './report.js';
import type { EvalReport } from './run.js';

/**
 * Two models scored on the same images (`parcelguard eval --model A --compare B`): each label's AP50
 * under both and a paired bootstrap interval of the difference. This is the question a site asks
 * before switching a model on — is the candidate better than what runs now, on our scans, by more
 * than chance — and the one a trainer asks before adopting a run.
 */

export interface LabelComparison {
  label: string;
  ap50: number | null;
  otherAp50: number | null;
  /** 90 % interval of ap50 - otherAp50; null where either model has no AP for the label. */
  delta: Interval | null;
}

export interface Comparison {
  other: { name: string; path: string };
  resamples: number;
  labels: LabelComparison[];
  map50: number | null;
  /** The other model's mean over the same labels. */
  otherMap50: number | null;
  delta: Interval | null;
}

/** `a` and `b` must come from the same dataset and images (same order), as runEval gives them. */
export function compareReports(a: EvalReport, b: EvalReport, resamples: number, seed = 1): Comparison {
  if (a.images !== b.images)
    throw new RangeError(
      `the two models were scored on different images (${a.images} and ${b.images}); one failed on some`,
    );
  const pairs = a.classes.map((c) => {
    const o = b.classes.find((x) => x.label === c.label);
    return { c, o: o?.inDataset && c.inDataset ? o : undefined };
  });
  const boot = pairedBootstrapAp50(
    pairs.map(({ c, o }) => (o ? c : null)),
    pairs.map(({ o }) => o ?? null),
    a.images,
    resamples,
    seed,
  );
  const labels = pairs.map(({ c, o }, i) => ({
    label: c.label,
    ap50: c.ap50,
    otherAp50: o?.ap50 ?? null,
    delta: boot.perClass[i] ?? null,
  }));
  const shared = labels.filter((l) => l.ap50 !== null && l.otherAp50 !== null);
  return {
    other: { name: b.model.name, path: b.model.path },
    resamples,
    labels,
    map50: meanOf(shared.map((l) => l.ap50 as number)),
    otherMap50: meanOf(shared.map((l) => l.otherAp50 as number)),
    delta: boot.map50,
  };
}

const signed = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
/** Whether the interval leaves out zero: the difference is more than the resampling noise. */
const clear = (i: Interval | null): boolean => i !== null && (i.lo > 0 || i.hi < 0);

export function formatComparison(c: Comparison): string {
  const rows = [
    ['class', 'AP50', 'other', 'difference', '90 % interval', ''],
    ...c.labels.map((l) => [
      l.label,
      num(l.ap50),
      num(l.otherAp50),
      l.ap50 !== null && l.otherAp50 !== null ? signed(l.ap50 - l.otherAp50) : '—',
      l.delta ? `${signed(l.delta.lo)} … ${signed(l.delta.hi)}` : '—',
      clear(l.delta) ? '*' : '',
    ]),
    [
      'all (mAP)',
      num(c.map50),
      num(c.otherMap50),
      c.map50 !== null && c.otherMap50 !== null ? signed(c.map50 - c.otherMap50) : '—',
      c.delta ? `${signed(c.delta.lo)} … ${signed(c.delta.hi)}` : '—',
      clear(c.delta) ? '*' : '',
    ],
  ];
  return [
    `compared with ${c.other.name} (${c.other.path}) on the same images; ${c.resamples} paired resamples:`,
    '',
    table(rows),
    '',
    '* the 90 % interval of the difference leaves out zero: more than this set’s sampling noise.',
  ].join('\n');
}

export interface ComparisonJson {
  model: { name: string; path: string };
  resamples: number;
  map50: number | null;
  /** [lo, hi] of this model's mAP50 minus the other's. */
  map50Delta: [number, number] | null;
  perClass: Record<string, { ap50: number | null; delta: [number, number] | null }>;
}

export function comparisonJson(c: Comparison): ComparisonJson {
  return {
    model: c.other,
    resamples: c.resamples,
    map50: c.otherMap50,
    map50Delta: asPair(c.delta),
    perClass: Object.fromEntries(
      c.labels.map((l) => [l.label, { ap50: l.otherAp50, delta: asPair(l.delta) }]),
    ),
  };
}
