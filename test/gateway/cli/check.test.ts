import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(yaml: string): Promise<{ code: number; out: string }> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  try {
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'gateway/cli/main.ts'), 'check', file],
      { cwd: REPO },
    );
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

it('parcelguard check: ok for a valid file, every problem as "path: message" and exit 1 otherwise', {
  timeout: 30_000,
}, async () => {
  const ok = await check(
    'version: 1\nsite: {id: s1, name: S}\nmodels: [{name: m, version: "1", path: m.onnx, input: {width: 64, height: 64}, output: yolov8, labels: [{name: knife, category: prohibited}]}]\n',
  );
  expect(ok).toMatchObject({ code: 0 });
  expect(ok.out).toMatch(/ok \(site s1, 0 X-ray machine\(s\), 0 camera\(s\), 1 model\(s\)\)/);

  const bad = await check(
    'version: 1\nsite: {id: S 1, name: S}\nmodles: []\nmodels: [{name: m, version: "1", path: m.onnx, input: {width: 64, height: 64}, output: yolov9, labels: []}]\n',
  );
  expect(bad.code).toBe(1);
  const lines = bad.out.split('\n').map((l) => l.trim());
  expect(lines).toContain('(root): unknown key(s) "modles"');
  expect(lines.some((l) => l.startsWith('site.id: '))).toBe(true);
  expect(lines.some((l) => l.startsWith('models[0].output: '))).toBe(true);
  expect(lines.some((l) => l.startsWith('models[0].labels: '))).toBe(true);
});
