/**
 * Forward migrations, zigbee2mqtt style: a config file written for an older release is upgraded in
 * memory, one version at a time, before validation. Version 0 is a config with no `version` key.
 */
type Raw = Record<string, unknown>;

export const MIGRATIONS: ReadonlyArray<{ from: number; describe: string; up: (raw: Raw) => Raw }> = [
  {
    from: 0,
    describe: 'add `version: 1` (first versioned schema; no other change)',
    up: (raw) => ({ ...raw, version: 1 }),
  },
];

export function migrate(raw: Raw, target: number): { config: Raw; applied: string[] } {
  let current = raw;
  const applied: string[] = [];
  let version =
    typeof current.version === 'number' ? current.version : current.version === undefined ? 0 : Number.NaN;
  while (version < target) {
    const step = MIGRATIONS.find((m) => m.from === version);
    if (!step) break;
    current = step.up(current);
    applied.push(`v${version}→v${version + 1}: ${step.describe}`);
    version += 1;
  }
  return { config: current, applied };
}
