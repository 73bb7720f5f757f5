import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../adapters/mqtt/topics.js';
import { EXAMPLES, REPO_ROOT, renderDocs, schemaFileName } from '../../docs/generate.js';

describe('docs/mqtt.md and docs/schema', () => {
  const generated = renderDocs();

  it.each([...generated.keys()])('%s is up to date with the generator (run `npm run docs`)', (path) => {
    const abs = join(REPO_ROOT, path);
    expect(existsSync(abs), `${path} is missing: run \`npm run docs\``).toBe(true);
    expect(readFileSync(abs, 'utf8'), `${path} is stale: run \`npm run docs\``).toBe(generated.get(path));
  });

  it('holds no schema for a topic that no longer exists', () => {
    const onDisk = readdirSync(join(REPO_ROOT, 'docs/schema')).filter((f) => f.endsWith('.json'));
    expect(onDisk.toSorted()).toEqual(
      Object.keys(TOPICS)
        .map((k) => schemaFileName(k as keyof typeof TOPICS))
        .toSorted(),
    );
  });

  it('documents every topic with its QoS, retain flag, schema link and a valid example', () => {
    const md = generated.get('docs/mqtt.md') ?? '';
    for (const [key, spec] of Object.entries(TOPICS)) {
      expect(md).toContain(`## \`${spec.pattern}\``);
      expect(md).toContain(`(schema/${schemaFileName(key as keyof typeof TOPICS)})`);
      const examples = EXAMPLES[key as keyof typeof TOPICS];
      expect(examples.length).toBeGreaterThan(0);
      for (const ex of examples) expect(spec.schema.safeParse(ex.payload).success).toBe(true);
    }
  });

  it('publishes draft 2020-12 schemas that keep objects open for additive changes', () => {
    for (const key of Object.keys(TOPICS)) {
      const text = generated.get(`docs/schema/${schemaFileName(key as keyof typeof TOPICS)}`) ?? '';
      const schema = JSON.parse(text) as Record<string, unknown>;
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(text).not.toContain('"additionalProperties": false');
    }
  });
});
