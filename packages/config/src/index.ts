// Environment configuration: every setting comes from the environment and is validated by a zod
// schema at start. A bad value stops the process with one line naming the variable and what it expects.
import { z } from 'zod';

export { z };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parse `env` with `schema`; throws ConfigError listing each bad variable and what it expects. */
export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) {
    const weak = weakSecretProblems(result.data as Record<string, unknown>);
    if (weak.length) throw new ConfigError(weak);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = issue.path.length ? env[String(issue.path[0])] : undefined;
    const shown = got === undefined ? 'it is not set' : `got ${JSON.stringify(redactValue(name, got))}`;
    return `${name} ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}

/** Like parseConfig, but on failure prints one line to stderr and exits with status 78 (EX_CONFIG). */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

function redactValue(name: string, value: string): string {
  if (/SECRET|TOKEN|PASSWORD/i.test(name)) return '<redacted>';
  return redactUrlPassword(value);
}

/** postgres://user:secret@host/db -> postgres://user:***@host/db, for logs and error lines. */
export function redactUrlPassword(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

// ---- reusable field schemas -------------------------------------------------------------------

export const port = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a TCP port number (1-65535)' })
    .int('must be a TCP port number (1-65535)')
    .min(1, 'must be a TCP port number (1-65535)')
    .max(65535, 'must be a TCP port number (1-65535)')
    .default(fallback);

export const httpUrl = (fallback?: string) => {
  const base = z
    .string()
    .refine((v) => /^https?:\/\/[^\s/]+/.test(v), { message: 'must be an http:// or https:// URL' })
    .transform((v) => v.replace(/\/+$/, ''));
  return fallback === undefined ? base : base.default(fallback);
};

export const postgresUrl = z
  .string({ message: 'must be set to a postgres:// connection URL' })
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && canParseUrl(v), {
    message: 'must be a postgres://user:password@host:port/database URL',
  });

export const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && canParseUrl(v), {
    message: 'must be a redis://[:password@]host:port[/db] URL',
  });

// ---- secrets -----------------------------------------------------------------------------------

/** Names declared with `secret()`: checked for entropy in production by parseConfig. */
const SECRET_NAMES = new Set<string>();

/**
 * Values published in this repository's examples (deploy/k8s secrets.env.example and friends). Anyone
 * can read them, so they are refused as real secrets in every environment.
 */
function isPublishedExample(value: string): boolean {
  return /change-?me|replace-?me|your-?secret|example-?secret/i.test(value);
}

/**
 * Shannon estimate of a string's entropy in bits (length × bits per character of its own character
 * distribution). Rough, but it catches what people type: repeats, words, "secretsecretsecret…".
 */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/** `openssl rand -hex 32` gives ≈ 250 bits by this estimate; 128 leaves room for other generators. */
export const MIN_SECRET_BITS = 128;

const GENERATE_HINT = 'generate one with: openssl rand -hex 32';

export const secret = (name: string) => {
  SECRET_NAMES.add(name);
  return z
    .string({ message: `must be set to a random string of at least 32 characters (${name})` })
    .min(32, `must be at least 32 characters long (${GENERATE_HINT})`)
    .refine((v) => !isPublishedExample(v), { message: `is the published example value from the repository, not a secret (${GENERATE_HINT})` });
};

/** In production, secrets must look random; development and tests may use simple fixed values. */
function weakSecretProblems(config: Record<string, unknown>): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  for (const name of SECRET_NAMES) {
    const value = config[name];
    if (typeof value === 'string' && estimatedEntropyBits(value) < MIN_SECRET_BITS) {
      problems.push(`${name} is too predictable for NODE_ENV=production (repeated or few distinct characters; ${GENERATE_HINT}) (got <redacted>)`);
    }
  }
  for (const name of ['DATABASE_URL', 'REDIS_URL']) {
    const value = config[name];
    if (typeof value === 'string' && isPublishedExample(urlPassword(value))) {
      problems.push(`${name} uses the published example password from the repository; set the real one (got ${JSON.stringify(redactUrlPassword(value))})`);
    }
  }
  return problems;
}

function urlPassword(value: string): string {
  try {
    return decodeURIComponent(new URL(value).password);
  } catch {
    return '';
  }
}

export const positiveInt = (fallback: number, what = 'a positive integer') =>
  z.coerce.number({ message: `must be ${what}` }).int(`must be ${what}`).positive(`must be ${what}`).default(fallback);

export const boolFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');

export const nodeEnv = z
  .enum(['development', 'production', 'test'], { message: 'must be development, production or test' })
  .default('development');

function canParseUrl(v: string): boolean {
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Settings every Parley service reads the same way (each service extends this with its own). Every
 * variable's `.describe()` is its line in README's configuration tables (scripts/env-docs/tables.ts).
 */
export const serviceBaseSchema = z.object({
  DATABASE_URL: postgresUrl.describe('`postgres://user:password@host:port/db`'),
  REDIS_URL: redisUrl.optional().describe('`redis://host:6379`. Set: sessions, rate limits and chat fan-out in Redis. Unset: Postgres (embedded mode)'),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/, 'must contain only letters, digits, ":", "_" and "-"').default('parley:')
    .describe('Prefix for every Redis key and channel'),
  PORT: port(8080).describe('HTTP port'),
  HOST: z.string().default('0.0.0.0').describe('Listen address'),
  LOG_LEVEL: logLevel.describe('`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`'),
  NODE_ENV: nodeEnv.describe('`development`, `production`, `test`'),
  PUBLIC_URL: httpUrl('http://localhost:3000').describe('The address people use, e.g. `https://parley.example.com` (its origin may open WebSockets)'),
  INTERNAL_TOKEN: secret('INTERNAL_TOKEN').describe('Shared secret (≥ 32 characters) for the service-to-service API (`/internal/*`)'),
  CHAT_TOKEN_SECRET: secret('CHAT_TOKEN_SECRET').describe('HMAC key (≥ 32 characters) of the short-lived chat tokens admin mints and chat verifies'),
  DB_POOL_MAX: positiveInt(10, 'a positive integer').describe('Postgres connections per process'),
});

/** One environment variable of a schema, as README's tables show it. */
export interface EnvVarDoc {
  name: string;
  /** Parsing fails when it is unset. */
  required: boolean;
  /** What an unset variable becomes (undefined: stays unset, or required). */
  defaultValue: unknown;
  description: string | undefined;
}

/** The variables of an environment schema with their default, whether required, and `.describe()` text. */
export function describeEnv(schema: z.ZodObject): EnvVarDoc[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const unset = (field as z.ZodType).safeParse(undefined);
    return { name, required: !unset.success, defaultValue: unset.success ? unset.data : undefined, description: (field as z.ZodType).description };
  });
}
