import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { migrate } from './migrations.js';
import { type Config, CURRENT_VERSION, configSchema } from './schema.js';
import { PgError } from './shared/errors.js';

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends PgError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], source: string) {
    super(
      'CONFIG_INVALID',
      `${source}: ${issues.length} problem(s)\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

export type Env = Record<string, string | undefined>;

/** Secrets and per-host values come from the environment so config files can be shared and committed. */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string[]; type: 'string' | 'int' }> = [
  { env: 'PARCELGUARD_SITE_ID', path: ['site', 'id'], type: 'string' },
  { env: 'PARCELGUARD_DATA_DIR', path: ['dataDir'], type: 'string' },
  { env: 'PARCELGUARD_LOG_LEVEL', path: ['log', 'level'], type: 'string' },
  { env: 'PARCELGUARD_HTTP_PORT', path: ['http', 'port'], type: 'int' },
  { env: 'PARCELGUARD_MQTT_URL', path: ['mqtt', 'url'], type: 'string' },
  { env: 'PARCELGUARD_MQTT_USERNAME', path: ['mqtt', 'username'], type: 'string' },
  { env: 'PARCELGUARD_MQTT_PASSWORD', path: ['mqtt', 'password'], type: 'string' },
  { env: 'PARCELGUARD_MQTT_EMBEDDED_PORT', path: ['mqtt', 'embedded', 'port'], type: 'int' },
];

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function formatIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: i.path.length
      ? i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '')
      : '(root)',
    message:
      i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message,
  }));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

function resolvePaths(cfg: Config, baseDir: string): void {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  cfg.dataDir = abs(cfg.dataDir);
  for (const m of cfg.models) m.path = abs(m.path);
  for (const x of cfg.xray) if (x.hotFolder) x.hotFolder.path = abs(x.hotFolder.path);
  const tls = cfg.mqtt.tls;
  if (tls) for (const k of ['ca', 'cert', 'key'] as const) if (tls[k]) tls[k] = abs(tls[k]!);
}

export interface LoadedConfig {
  config: Readonly<Config>;
  migrations: string[];
}

/** Validates raw config (already parsed), applying migrations and env overrides. Throws ConfigError listing every issue. */
export function parseConfig(
  raw: unknown,
  opts: { env?: Env; baseDir?: string; source?: string } = {},
): LoadedConfig {
  const source = opts.source ?? 'config';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([{ path: '(root)', message: 'expected a YAML mapping' }], source);
  }
  const { config: migrated, applied } = migrate(
    structuredClone(raw as Record<string, unknown>),
    CURRENT_VERSION,
  );
  const env = opts.env ?? {};
  const envIssues: ConfigIssue[] = [];
  for (const o of ENV_OVERRIDES) {
    const v = env[o.env];
    if (v === undefined || v === '') continue;
    if (o.type === 'int') {
      const n = Number(v);
      if (!Number.isInteger(n))
        envIssues.push({ path: `$${o.env}`, message: `expected an integer, got "${v}"` });
      else setPath(migrated, o.path, n);
    } else setPath(migrated, o.path, v);
  }
  const result = configSchema.safeParse(migrated);
  const issues = [...envIssues, ...(result.success ? [] : formatIssues(result.error))];
  if (!result.success || issues.length > 0) throw new ConfigError(issues, source);
  const cfg = result.data;
  resolvePaths(cfg, opts.baseDir ?? process.cwd());
  return { config: deepFreeze(cfg), migrations: applied };
}

export function loadConfigFile(path: string, env: Env = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PgError('CONFIG_UNREADABLE', path, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      [{ path: '(yaml)', message: err instanceof Error ? err.message.split('\n')[0]! : String(err) }],
      path,
    );
  }
  return parseConfig(raw, { env, baseDir: dirname(resolve(path)), source: path });
}
