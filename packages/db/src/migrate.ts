// Plain SQL migrations applied in file-name order, each in its own transaction (or, with the
// `-- parley:no-transaction` header, statement by statement: see migration-file.ts), under a Postgres
// advisory lock so that several replicas or a Kubernetes Job starting together apply each file once.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { checkout } from './checkout.ts';
import { concurrentIndexName, parseMigration } from './migration-file.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Works from src/ (tests) and from dist/ (bundled): both sit beside ../migrations. */
export const MIGRATIONS_DIR = process.env.PARLEY_MIGRATIONS_DIR ?? resolve(here, '..', 'migrations');

const LOCK_KEY = 0x7061726c; // "parl"
const LOCK_POLL_MS = 200;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(pool: Pool, dir: string = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  // Held with an 'error' listener: a database restart during startup fails the migration, not the process.
  const held = await checkout(pool);
  const { client } = held;
  let failure: unknown;
  try {
    await takeLock(client);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
    const done = new Map(rows.map((r) => [r.name, r.checksum]));
    const applied: string[] = [];
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) throw new Error(`migration ${file} was changed after it was applied; add a new migration instead`);
        continue;
      }
      const migration = parseMigration(file, sql);
      if (migration.transactional) {
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
      } else {
        try {
          for (const statement of migration.statements) await runOutsideTransaction(client, statement);
          await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
        } catch (err) {
          throw new Error(`migration ${file} failed (it runs without a transaction: fix the cause and run it again): ${(err as Error).message}`);
        }
      }
      applied.push(file);
    }
    return { applied, alreadyApplied: files.length - applied.length };
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    if (!held.broken) await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    held.release(failure);
  }
}

/**
 * The advisory lock, polled rather than awaited: a session blocked in pg_advisory_lock holds a snapshot,
 * and CREATE INDEX CONCURRENTLY in the lock holder waits for every older snapshot to end, so a waiting
 * runner and the holder would deadlock.
 */
async function takeLock(client: PoolClient): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOCK_KEY]);
    if (rows[0]?.locked) return;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/**
 * One statement of a no-transaction file. A CREATE INDEX CONCURRENTLY that failed or was interrupted
 * (crash, lost connection) leaves an INVALID index behind, which `IF NOT EXISTS` would then keep
 * forever: drop it first so the rerun builds it again.
 */
async function runOutsideTransaction(client: PoolClient, statement: string): Promise<void> {
  const index = concurrentIndexName(statement);
  if (index) {
    const { rows } = await client.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = $1 AND c.relnamespace = current_schema()::text::regnamespace`,
      [index],
    );
    if (rows[0] && !rows[0].valid) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS "${index}"`);
  }
  await client.query(statement);
}
