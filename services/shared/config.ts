/**
 * The one place that reads the environment. Every setting is declared once in
 * `settings` (config-settings.ts: schema, default, description); `loadConfig` validates
 * them all and reports every problem together, and `renderConfigTable` produces the
 * README's table from the same declarations so the two cannot drift apart.
 */
import path from 'node:path';
import type { z } from 'zod';
import type { Setting } from './config-schemas.js';
import { settings } from './config-settings.js';

export { settings };

type Settings = typeof settings;
type Parsed = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export interface Config extends Readonly<Parsed> {
  /** DATA_DIR made absolute, so every path derived from it is absolute too. */
  readonly dataDir: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment once, reporting every problem at once, and returns a frozen config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, { schema, default: fallback }] of Object.entries(settings) as [string, Setting<z.ZodType<unknown, string>>][]) {
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    const result = schema.safeParse(raw);
    if (result.success) values[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => `${name}: ${issue.message} (got "${raw}")`));
  }
  const parsed = values as Parsed;
  if (problems.length === 0 && parsed.MAX_CHUNK_SIZE > parsed.MAX_FILE_SIZE) {
    problems.push('MAX_CHUNK_SIZE: must not exceed MAX_FILE_SIZE');
  }
  if (problems.length === 0 && parsed.EARLY_MERGES_PER_WORKER >= parsed.MERGE_CONCURRENCY && parsed.EARLY_MERGES_PER_WORKER > 0) {
    // Completed uploads must always have a slot. Left unset, the limit yields to the
    // concurrency chosen; set explicitly, the contradiction is the operator's to resolve.
    if (env.EARLY_MERGES_PER_WORKER === undefined || env.EARLY_MERGES_PER_WORKER === '') {
      (parsed as { EARLY_MERGES_PER_WORKER: number }).EARLY_MERGES_PER_WORKER = parsed.MERGE_CONCURRENCY - 1;
    } else {
      problems.push('EARLY_MERGES_PER_WORKER: must be less than MERGE_CONCURRENCY, so completed uploads always have a slot (0 turns early merging off)');
    }
  }
  if (problems.length === 0 && (parsed.REDIS_SENTINELS === '') !== (parsed.REDIS_SENTINEL_MASTER === '')) {
    problems.push('REDIS_SENTINELS and REDIS_SENTINEL_MASTER: set both or neither');
  }
  if (problems.length === 0 && parsed.REDIS_WAIT_REPLICAS > 0 && parsed.REDIS_CLUSTER_NODES !== '') {
    problems.push('REDIS_WAIT_REPLICAS: not supported with REDIS_CLUSTER_NODES');
  }
  if (problems.length === 0 && parsed.REDIS_SENTINELS !== '' && parsed.REDIS_CLUSTER_NODES !== '') {
    problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS: choose one');
  }
  if (problems.length === 0 && parsed.STORAGE === 's3' && parsed.S3_BUCKET === '') {
    problems.push('S3_BUCKET: required with STORAGE=s3');
  }
  if (problems.length === 0 && parsed.HEADERS_TIMEOUT_MS > parsed.REQUEST_TIMEOUT_MS) {
    problems.push('HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS');
  }
  if (problems.length === 0 && parsed.CORS_CREDENTIALS && parsed.CORS_ORIGINS.split(',').some((o) => o.trim() === '*')) {
    problems.push('CORS_CREDENTIALS: needs explicit CORS_ORIGINS, not *');
  }
  if (problems.length === 0 && parsed.WEBHOOK_URL !== '' && parsed.WEBHOOK_SECRET.length < 16) {
    problems.push('WEBHOOK_SECRET: must be at least 16 characters when WEBHOOK_URL is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...parsed, dataDir: path.resolve(parsed.DATA_DIR) });
}

/** For process entry points: the config, or every problem on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
}

/** The README's configuration table, generated from `settings`. */
export function renderConfigTable(): string {
  const rows = Object.entries(settings).map(
    ([name, { default: fallback, description }]) =>
      `| \`${name}\` | ${fallback === '' ? '(empty)' : `\`${fallback}\``} | ${description} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
