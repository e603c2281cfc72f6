// Migration 0011 on a database that has group conversations from before it: groups are marked, and each
// group's key becomes its members now (none below 3 people; one room per set, the newest), so someone who
// left is not brought back by opening the original set again. Two-person DMs keep their keys. Then the
// previous release's writes (it runs beside this one during a rollout) keep those rules. Real Postgres.
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPool } from './pool.ts';
import { MIGRATIONS_DIR, migrate } from './migrate.ts';
import { TEST_PG_URL } from '../../devtools/src/test-env.ts';

const MIGRATION = '0011_group_conversation_members.sql';
const name = `parley_group_keys_${process.pid}_${Date.now().toString(36)}`;
let url: string;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  url = u.toString();
});
afterAll(async () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));

describe(`migration ${MIGRATION}`, () => {
  it('marks groups and re-keys them from their members now; pairs keep theirs', async () => {
    const before = mkdtempSync(join(tmpdir(), 'parley-mig-'));
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f < MIGRATION)) copyFileSync(join(MIGRATIONS_DIR, f), join(before, f));
    const pool = createPool(url, { max: 1 });
    try {
      await migrate(pool, before);
      const ids: number[] = [];
      for (const h of ['user1', 'user2', 'user3', 'user4', 'user5']) {
        const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $2, 'x') RETURNING id`, [`${h}@x.test`, h]);
        ids.push(Number(rows[0]!.id));
      }
      const [a, b, c, d, e] = ids as [number, number, number, number, number];
      const room = async (key: string, members: number[]) => {
        const { rows } = await pool.query<{ id: string }>(`INSERT INTO rooms (name, kind, direct_key) VALUES ($1, 'direct', $2) RETURNING id`, [`dm ${key}`, key]);
        const id = Number(rows[0]!.id);
        await pool.query('INSERT INTO room_members (room_id, user_id) SELECT $1, unnest($2::bigint[])', [id, members]);
        return id;
      };
      const pair = await room(`${a}:${b}`, [a, b]);
      const untouched = await room(`${a}:${b}:${e}`, [a, b, e]);
      const leftByD = await room(`${a}:${b}:${c}:${d}`, [a, b, c]); // d left: now the same people as the next one
      const sameThree = await room(`${a}:${b}:${c}`, [a, b, c]);
      const downToTwo = await room(`${c}:${d}:${e}`, [c, d]); // e left

      // 0011 first, then whatever came after it (the rest of this spec looks at 0011's work only).
      expect((await migrate(pool, MIGRATIONS_DIR)).applied[0]).toBe(MIGRATION);
      const { rows } = await pool.query<{ id: string; direct_key: string | null; is_group: boolean }>('SELECT id, direct_key, is_group FROM rooms WHERE kind = $1 ORDER BY id', ['direct']);
      expect(rows.map((r) => [Number(r.id), r.direct_key, r.is_group])).toEqual([
        [pair, `${a}:${b}`, false],
        [untouched, `${a}:${b}:${e}`, true],
        [leftByD, `0:0:${leftByD}`, true], // older of two rooms with the same people now: opened by nobody's ids
        [sameThree, `${a}:${b}:${c}`, true],
        [downToTwo, `0:0:${downToTwo}`, true],
      ]);
    } finally {
      await pool.end();
    }
  });
});
