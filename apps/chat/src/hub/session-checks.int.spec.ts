// Session checks against a real Postgres: every verdict (good, unknown or inactive user, revoked session,
// changed role) from the query that returns rows only for sessions that are not good, lookups arriving
// together share one query (the same session asked twice is one row), and re-validation in chunks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { PgSessionChecks, type SessionKey } from './session-checks.ts';

let db: TestDatabase;
const users: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase('sessions');
  for (const [i, status, role] of [[0, 'active', 'user'], [1, 'banned', 'user'], [2, 'active', 'admin'], [3, 'deactivated', 'admin']] as const) {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash, status, role) VALUES ($1, $2, $3, 'x', $4, $5) RETURNING id`,
      [`s${i}@example.test`, `session_${i}`, `Session ${i}`, status, role],
    );
    users.push(Number(rows[0]!.id));
  }
  await db.pool.query(`SELECT parley_control_event('session_revoked', $1, 'gone', NULL, NULL, '{}')`, [users[0]]);
});

afterAll(async () => {
  await db?.drop();
});

describe('PgSessionChecks', () => {
  it('says why a session is not good, in the same precedence as before (inactive, revoked, role)', async () => {
    const checks = new PgSessionChecks(db.pool);
    const [active, banned, admin, deactivated] = users as [number, number, number, number];
    const keys: SessionKey[] = [
      { uid: active, sid: 'fine', role: 'user' },
      { uid: banned, sid: 'x', role: 'user' },
      { uid: active, sid: 'gone', role: 'user' },
      { uid: active, sid: 'fine', role: 'admin' },
      { uid: admin, sid: 'fine|with|bars', role: 'admin' },
      { uid: deactivated, sid: 'gone', role: 'user' },
      { uid: 999_999_999, sid: 'x', role: 'user' },
      { uid: active, sid: 'gone', role: 'admin' },
    ];
    expect(await checks.checkMany(keys)).toEqual(['ok', 'inactive', 'revoked', 'role_changed', 'ok', 'inactive', 'inactive', 'revoked']);
    expect(await Promise.all(keys.map((k) => checks.check(k)))).toEqual(['ok', 'inactive', 'revoked', 'role_changed', 'ok', 'inactive', 'inactive', 'revoked']);
  });

  it('answers lookups arriving together with one query, the same session once', async () => {
    let queries = 0;
    let params = 0;
    const pool = new Proxy(db.pool, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
        return (config: { values: unknown[][] }) => {
          queries++;
          params = config.values[0]!.length;
          return target.query(config as never);
        };
      },
    });
    const checks = new PgSessionChecks(pool);
    const same = { uid: users[0]!, sid: 'tab', role: 'user' };
    const verdicts = await Promise.all([checks.check(same), checks.check({ ...same }), checks.check({ uid: users[1]!, sid: 'tab', role: 'user' }), checks.check({ ...same })]);
    expect(verdicts).toEqual(['ok', 'ok', 'inactive', 'ok']);
    expect(queries).toBe(1);
    expect(params).toBe(2);
  });
});
