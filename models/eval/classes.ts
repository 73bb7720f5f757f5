import { EvalUsageError } from './dataset.js';

/**
 * Matching the dataset's class names to the model's labels. A site's data is often labelled with
 * other names (`Straight_Knife`, `Gun`) than the model emits (`knife`, `gun`); `--map` says which is
 * which. Without a map entry a dataset class matches the model label of the same name, ignoring case.
 * Several dataset classes may map to one label (two kinds of knife are both `knife`).
 */

export interface ClassMapping {
  /** Per dataset class index: the model label index it is scored as, or null (excluded). */
  toModel: Array<number | null>;
  /** Dataset classes the model knows nothing of: their boxes are left out of the evaluation. */
  excluded: string[];
  /** Model labels no dataset class maps to: reported, with no AP. */
  absent: string[];
  /** Model label indices some dataset class maps to. */
  present: Set<number>;
}

/**
 * Parses `--map` values: comma-separated `dataset=label` pairs, possibly in several `--map` options.
 * Names are trimmed; a dataset class may be given by name or by its index.
 */
export function parseMapOption(values: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const value of values) {
    for (const part of value.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const from = eq < 0 ? '' : part.slice(0, eq).trim();
      const to = eq < 0 ? '' : part.slice(eq + 1).trim();
      if (from === '' || to === '' || to.includes('=')) {
        throw new EvalUsageError(
          `--map: "${part.trim()}" is not "dataset_class=model_label" (e.g. --map 'Straight_Knife=knife,Gun=gun')`,
        );
      }
      if (map.has(from) && map.get(from) !== to)
        throw new EvalUsageError(`--map: "${from}" is mapped twice (${map.get(from)}, ${to})`);
      map.set(from, to);
    }
  }
  return map;
}

/** Builds the mapping; a map entry naming an unknown dataset class or model label is an EvalUsageError. */
export function buildClassMapping(
  datasetNames: readonly string[],
  modelLabels: readonly string[],
  map: ReadonlyMap<string, string>,
): ClassMapping {
  const labelIndex = (name: string): number => modelLabels.indexOf(name);
  const mapped = new Map<number, number>();
  for (const [from, to] of map) {
    let ds = datasetNames.indexOf(from);
    if (ds < 0 && /^\d+$/.test(from) && Number(from) < datasetNames.length) ds = Number(from);
    if (ds < 0)
      throw new EvalUsageError(
        `--map: "${from}" is not a dataset class (dataset: ${datasetNames.join(', ')})`,
      );
    const li = labelIndex(to);
    if (li < 0)
      throw new EvalUsageError(`--map: "${to}" is not a model label (model: ${modelLabels.join(', ')})`);
    mapped.set(ds, li);
  }
  const lower = modelLabels.map((l) => l.toLowerCase());
  const toModel = datasetNames.map((name, i) => {
    const explicit = mapped.get(i);
    if (explicit !== undefined) return explicit;
    const exact = labelIndex(name);
    if (exact >= 0) return exact;
    const loose = lower.indexOf(name.toLowerCase());
    return loose >= 0 ? loose : null;
  });
  const present = new Set(toModel.filter((i): i is number => i !== null));
  return {
    toModel,
    excluded: datasetNames.filter((_, i) => toModel[i] === null),
    absent: modelLabels.filter((_, i) => !present.has(i)),
    present,
  };
}
