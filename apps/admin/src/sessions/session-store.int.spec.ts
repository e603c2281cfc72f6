// Both session stores against the real thing: Redis (production) and Postgres (embedded mode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTestDatabase, dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL, type TestDatabase } from '@parley/devtools';
import { RedisSessionStore } from './redis-store.ts';
import { PgSessionStore } from './pg-store.ts';
import { sessionIdOf, type SessionStore } from './session-store.ts';

let db: TestDatabase;
let redis: Redis;
const prefix = testRedisPrefix('sessions');
const meta = { ip: '203.0.113.7', userAgent: 'test-agent' };

beforeAll(async () => {
  db = await createTestDatabase('sessions');
  redis = new Redis(TEST_REDIS_URL);
  await db.pool.query(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ('a@x.test', 'ann', 'Ann', 'x'), ('b@x.test', 'bob', 'Bob', 'x')`);
});

afterAll(async () => {
  redis?.disconnect();
  await dropRedisPrefix(prefix);
  await db?.drop();
});

const stores: Array<[string, () => SessionStore]> = [
  ['redis', () => new RedisSessionStore(redis, prefix, { idleMs: 60_000, absoluteMs: 3_600_000 })],
  ['postgres', () => new PgSessionStore(db.pool, { idleMs: 60_000, absoluteMs: 3_600_000 })],
];

// Idle an hour, absolute end 400 ms after login: the absolute end wins.
const shortLived: Array<[string, () => SessionStore]> = [
  ['redis', () => new RedisSessionStore(redis, prefix, { idleMs: 3_600_000, absoluteMs: 400 })],
  ['postgres', () => new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 400 })],
];

describe.each(stores)('%s session store', (kind, make) => {
  it('creates a session found by its cookie, never stores the cookie itself', async () => {
    const store = make();
    const { cookieValue, record } = await store.create(1, meta);
    expect(record.id).toBe(sessionIdOf(cookieValue));
    expect(record.id).not.toContain(cookieValue);
    const found = await store.get(cookieValue);
    expect(found).toMatchObject({ id: record.id, userId: 1, ip: meta.ip, userAgent: meta.userAgent });
    expect(await store.get('x'.repeat(43))).toBeNull();
    expect(await store.get('not a cookie')).toBeNull();
    if (kind === 'redis') {
      const keys = await redis.keys(`${prefix}*`);
      for (const key of keys) expect(key).not.toContain(cookieValue);
    } else {
      const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM sessions');
      expect(rows.map((r) => r.id)).not.toContain(cookieValue);
    }
  });

  it('lists a user\'s sessions and revokes one or all of them', async () => {
    const store = make();
    const a = await store.create(2, meta);
    const b = await store.create(2, { ...meta, userAgent: 'other-device' });
    const listed = await store.listForUser(2);
    expect(listed.map((s) => s.id).sort()).toEqual([a.record.id, b.record.id].sort());
    await store.destroy(a.record.id);
    expect(await store.get(a.cookieValue)).toBeNull();
    expect(await store.get(b.cookieValue)).not.toBeNull();
    const c = await store.create(2, meta);
    const destroyed = await store.destroyAllForUser(2);
    expect(destroyed.sort()).toEqual([b.record.id, c.record.id].sort());
    expect(await store.get(b.cookieValue)).toBeNull();
    expect(await store.listForUser(2)).toEqual([]);
    expect(await store.ping()).toBe(true);
  });
});

describe.each(shortLived)('%s session store with a short absolute lifetime', (_kind, make) => {
  it('ends the session at its absolute end however recently it was used; the record says when', async () => {
    const store = make();
    const { cookieValue, record } = await store.create(1, meta);
    expect(record.endsAt - record.createdAt).toBe(400);
    expect(record.expiresAt).toBeLessThanOrEqual(record.endsAt);
    expect((await store.get(cookieValue))?.endsAt).toBe(record.endsAt);
    await new Promise((r) => setTimeout(r, 550));
    expect(await store.get(cookieValue)).toBeNull();
  });
});

it('a Redis session expires after its idle lifetime', async () => {
  const store = new RedisSessionStore(redis, prefix, { idleMs: 300, absoluteMs: 3_600_000 });
  const { cookieValue } = await store.create(1, meta);
  expect(await store.get(cookieValue)).not.toBeNull();
  await new Promise((r) => setTimeout(r, 450));
  expect(await store.get(cookieValue)).toBeNull();
});
