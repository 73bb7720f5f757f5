import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../config/schema.js';
import type { Detection } from '../../../config/shared/types.js';
import { decide, LabelPolicy } from '../../../gateway/alerts/rules.js';

const model = (
  name: string,
  labels: Array<Partial<ModelConfig['labels'][number]> & { name: string }>,
): ModelConfig =>
  ({
    name,
    version: '1',
    labels: labels.map((l) => ({ category: 'prohibited', alarm: true, ...l })),
  }) as ModelConfig;

const policy = new LabelPolicy([
  model('prohibited', [
    { name: 'knife' },
    { name: 'lighter', severity: 'yellow' },
    { name: 'battery', alarm: false },
  ]),
  model('drugs', [{ name: 'powder', category: 'drug' }]),
]);

const det = (label: string, score: number, m = 'prohibited', view = 'top'): Detection => ({
  label,
  score,
  view,
  category: m === 'drugs' ? 'drug' : 'prohibited',
  box: [0, 0, 10, 10],
  model: { name: m, version: '1' },
});

describe('alert rules', () => {
  it('no detections: no alarm', () => {
    expect(decide([], policy).alarm).toBe(false);
  });
  it('a label with alarm: false is recorded but raises nothing', () => {
    const d = decide([det('battery', 0.99)], policy);
    expect(d.alarm).toBe(false);
    expect(d.items).toEqual([]);
  });
  it('items from both views are merged into one decision, best score first', () => {
    const d = decide(
      [det('lighter', 0.6, 'prohibited', 'top'), det('knife', 0.9, 'prohibited', 'side')],
      policy,
    );
    expect(d.alarm).toBe(true);
    expect(d.items.map((i) => `${i.label}@${i.view}`)).toEqual(['knife@side', 'lighter@top']);
  });
  it('severity is red when any item is red, else yellow', () => {
    expect(decide([det('lighter', 0.6)], policy).severity).toBe('yellow');
    expect(decide([det('lighter', 0.6), det('knife', 0.5)], policy).severity).toBe('red');
  });
  it('a drug-only alarm is category drug; mixed is prohibited with both categories listed', () => {
    expect(decide([det('powder', 0.7, 'drugs')], policy)).toMatchObject({
      category: 'drug',
      categories: ['drug'],
    });
    expect(decide([det('powder', 0.7, 'drugs'), det('knife', 0.6)], policy)).toMatchObject({
      category: 'prohibited',
      categories: ['drug', 'prohibited'],
    });
  });
  it('a label the config does not know still alarms (red) rather than being hidden', () => {
    const d = decide([det('grenade', 0.8)], policy);
    expect(d).toMatchObject({ alarm: true, severity: 'red' });
  });
});
