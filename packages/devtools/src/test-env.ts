// Isolation for tests on the shared Postgres and Redis: a uniquely named database (migrated) and a
// unique Redis key prefix per run, dropped afterwards. Test databases are copies of a migrated
// template (one per set of migration files), so each costs a file copy instead of every migration.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createPool, migrate, MIGRATIONS_DIR, type Pool } from '@parley/db';

/** The shared server's maintenance URL; override with TEST_PG_URL (e.g. in CI elsewhere). */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Serializes template builds and copies across test workers and concurrent runs on one server. */
const TEMPLATE_LOCK = 0x7074706c; // "ptpl"

/** The template's name: a hash of the migration files, so a changed or added migration gets a new one. */
function templateName(dir = MIGRATIONS_DIR): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    hash.update(file).update('\0').update(readFileSync(join(dir, file))).update('\0');
  }
  return `parley_tpl_${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Make sure the migrated template exists (built once, under an advisory lock; a half-built one left by
 * a killed run is rebuilt), then copy it. Postgres refuses to copy a database others are connected to,
 * so the copy happens under the same lock and the builder disconnects before marking it a template.
 */
async function createFromTemplate(admin: pg.Client, name: string): Promise<void> {
  const template = templateName();
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    const { rows } = await admin.query<{ datistemplate: boolean }>('SELECT datistemplate FROM pg_database WHERE datname = $1', [template]);
    if (!rows[0]?.datistemplate) {
      if (rows[0]) await admin.query(`DROP DATABASE ${template} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${template}`);
      const pool = createPool(withDatabase(TEST_PG_URL, template), { max: 1, applicationName: 'parley-test-template' });
      try {
        await migrate(pool);
      } finally {
        await pool.end();
      }
      await admin.query(`ALTER DATABASE ${template} IS_TEMPLATE true`);
    }
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => undefined);
  }
}

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `parley_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${TEST_PG_URL} (set TEST_PG_URL): ${(err as Error).message}`);
  }
  try {
    await createFromTemplate(admin, name);
  } finally {
    await admin.end();
  }
  const url = withDatabase(TEST_PG_URL, name);
  const pool = createPool(url, { max: 5, applicationName: 'parley-test' });
  // A no-op on a fresh copy; proves the copy is at the current schema.
  await migrate(pool);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function testRedisPrefix(label = 'test'): string {
  return `parley-test:${label}:${randomBytes(4).toString('hex')}:`;
}

/** Delete every key under a prefix (SCAN, not KEYS, on the shared server). */
export async function dropRedisPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
