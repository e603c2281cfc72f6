// Migrations against a real Postgres: idempotent, safe when several runners start at once, and a
// changed migration is refused rather than silently skipped.
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPool } from './pool.ts';
import { MIGRATIONS_DIR, migrate } from './migrate.ts';
import { TEST_PG_URL } from '../../devtools/src/test-env.ts';

const name = `parley_migrate_${process.pid}_${Date.now().toString(36)}`;
let url: string;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  url = u.toString();
});

afterAll(async () => {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

describe('migrate', () => {
  it('applies every migration once, even when several runners start together', async () => {
    const pools = [createPool(url, { max: 1 }), createPool(url, { max: 1 }), createPool(url, { max: 1 })];
    const results = await Promise.all(pools.map((p) => migrate(p)));
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
    expect(results.flatMap((r) => r.applied).sort()).toEqual(files.sort());
    const again = await migrate(pools[0]!);
    expect(again).toEqual({ applied: [], alreadyApplied: files.length });
    const { rows } = await pools[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0]?.n).toBe(files.length);
    await Promise.all(pools.map((p) => p.end()));
  });

  it('refuses a migration that changed after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-mig-'));
    for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
    const first = readdirSync(dir).sort()[0]!;
    writeFileSync(join(dir, first), '-- edited\n', { flag: 'a' });
    const pool = createPool(url, { max: 1 });
    await expect(migrate(pool, dir)).rejects.toThrow(/was changed after it was applied/);
    await pool.end();
  });

  it('rolls back a failing migration and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-mig-'));
    for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
    writeFileSync(join(dir, '9999_broken.sql'), 'CREATE TABLE half_done (id int); SELECT no_such_function();');
    const pool = createPool(url, { max: 1 });
    await expect(migrate(pool, dir)).rejects.toThrow(/9999_broken\.sql failed/);
    const { rows } = await pool.query<{ t: string | null }>(`SELECT to_regclass('half_done') AS t`);
    expect(rows[0]!.t).toBeNull();
    await pool.end();
  });

  it('runs a no-transaction file statement by statement, and rebuilds an index a crashed concurrent build left INVALID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-mig-'));
    for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
    const pool = createPool(url, { max: 2 });
    // What an interrupted CREATE INDEX CONCURRENTLY leaves: an index marked invalid (here: a failed unique build).
    await pool.query(`CREATE TABLE concurrent_t (v int); INSERT INTO concurrent_t VALUES (1), (1)`);
    await expect(pool.query('CREATE UNIQUE INDEX CONCURRENTLY concurrent_t_v_key ON concurrent_t (v)')).rejects.toMatchObject({ code: '23505' });
    const validity = async () => (await pool.query<{ valid: boolean }>(`SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'concurrent_t_v_key'`)).rows[0]?.valid;
    expect(await validity()).toBe(false);
    await pool.query('DELETE FROM concurrent_t');
    writeFileSync(join(dir, '9998_concurrent.sql'), [
      '-- parley:no-transaction',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS concurrent_t_v_key ON concurrent_t (v);',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS concurrent_t_v_idx ON concurrent_t (v);',
      '',
    ].join('\n'));
    const result = await migrate(pool, dir);
    expect(result.applied).toEqual(['9998_concurrent.sql']);
    expect(await validity()).toBe(true);
    // Rebuilt, not kept: the unique index now refuses duplicates.
    await pool.query('INSERT INTO concurrent_t VALUES (2)');
    await expect(pool.query('INSERT INTO concurrent_t VALUES (2)')).rejects.toMatchObject({ code: '23505' });
    // A failing no-transaction file is not recorded, and its finished statements stay (idempotent rerun).
    writeFileSync(join(dir, '9999_fails.sql'), '-- parley:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS half_idx ON concurrent_t (v);\nSELECT no_such_function();\n');
    await expect(migrate(pool, dir)).rejects.toThrow(/9999_fails\.sql failed \(it runs without a transaction/);
    const { rows } = await pool.query(`SELECT name FROM schema_migrations WHERE name LIKE '999%' ORDER BY name`);
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['9998_concurrent.sql']);
    await pool.end();
  });

  it('keeps room sequences and client ids unique', async () => {
    const pool = createPool(url, { max: 1 });
    const { rows: [user] } = await pool.query<{ id: number }>(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ('a@x.test', 'aaa', 'A', 'x') RETURNING id`);
    const { rows: [room] } = await pool.query<{ id: number }>(`INSERT INTO rooms (name) VALUES ('r') RETURNING id`);
    await pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, 1, $2, 'c1', 'x')`, [room!.id, user!.id]);
    await expect(pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, 1, $2, 'c2', 'y')`, [room!.id, user!.id])).rejects.toMatchObject({ code: '23505' });
    await expect(pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, 2, $2, 'c1', 'y')`, [room!.id, user!.id])).rejects.toMatchObject({ code: '23505' });
    await expect(pool.query(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ('A@X.test', 'bbb', 'B', 'x')`)).rejects.toMatchObject({ code: '23505' });
    await pool.end();
  });
});
