// A database of the benchmark's own on the shared Postgres: created empty, migrated, and dropped by the
// cleanup it registers (WITH (FORCE): a scenario cut short may leave connections open).
import pg from 'pg';
import { createPool, migrate, type Pool } from '@parley/db';
import { TEST_PG_URL } from '@parley/devtools';

export interface BenchDatabase {
  url: string;
  pool: Pool;
  drop: () => Promise<void>;
}

export async function createBenchDatabase(
  name: string,
  opts: { migrationsDir: string; poolMax: number; applicationName: string; cleanups: Array<() => unknown> },
): Promise<BenchDatabase> {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, { max: opts.poolMax, applicationName: opts.applicationName });
  const drop = async () => {
    await pool.end().catch(() => undefined);
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  opts.cleanups.push(drop);
  await migrate(pool, opts.migrationsDir);
  return { url, pool, drop };
}
