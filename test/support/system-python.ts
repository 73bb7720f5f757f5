import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Debian's python, the only interpreter with its python3-gi, python3-torch and python3-onnx (never the
 * pyenv python3 on PATH). The training recipe's checks need torch, which CI does not install as it does
 * not train, so those tests ask `hasTorch` and report themselves skipped there rather than passing
 * without checking anything.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export const hasTorch = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Runs a check script that prints one JSON object of findings, and returns it. */
export function runPythonCheck(script: string, timeoutMs: number): Record<string, unknown> {
  const out = execFileSync(SYSTEM_PYTHON, [script], { encoding: 'utf8', timeout: timeoutMs });
  return JSON.parse(out) as Record<string, unknown>;
}
