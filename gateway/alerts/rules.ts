import type { ModelConfig } from '../../config/schema.js';
import type { Category, Detection, Severity } from '../../config/shared/types.js';

export interface AlarmDecision {
  alarm: boolean;
  items: Detection[];
  category: Category;
  categories: Category[];
  severity: Severity;
}

/** Label policy looked up by model and label name; built once from the frozen config. */
export class LabelPolicy {
  private readonly byModel = new Map<string, Map<string, { alarm: boolean; severity: Severity }>>();

  constructor(models: readonly ModelConfig[]) {
    for (const m of models) {
      this.byModel.set(
        m.name,
        new Map(m.labels.map((l) => [l.name, { alarm: l.alarm, severity: l.severity ?? 'red' }])),
      );
    }
  }

  of(d: Detection): { alarm: boolean; severity: Severity } {
    // A label the config does not know can only come from a model swapped under us: alarm on it
    // rather than hide it.
    return this.byModel.get(d.model.name)?.get(d.label) ?? { alarm: true, severity: 'red' };
  }
}

/**
 * One decision per scan, both views merged. Prohibited items outrank drugs for the topic category
 * because they are an immediate danger at the line; drug items still show in `categories`, which
 * is what the task-force routing keys on.
 */
export function decide(detections: readonly Detection[], policy: LabelPolicy): AlarmDecision {
  const items = detections.filter((d) => policy.of(d).alarm).sort((a, b) => b.score - a.score);
  const categories = [...new Set(items.map((d) => d.category))].sort() as Category[];
  const severity: Severity = items.some((d) => policy.of(d).severity === 'red') ? 'red' : 'yellow';
  return {
    alarm: items.length > 0,
    items,
    category: categories.includes('prohibited') ? 'prohibited' : (categories[0] ?? 'prohibited'),
    categories,
    severity,
  };
}
