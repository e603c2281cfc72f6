// Budgets for sign-up (per IP), room creation, opening DMs and password change (per user): 429 with
// Retry-After and one sentence, counted in Redis so two admin replicas share them. Real Postgres and
// Redis, app.inject().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { createTestDatabase, dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL, type TestDatabase } from '@parley/devtools';
import Fastify from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import type { AdminServices } from '../../app.ts';
import { adminConfigSchema } from '../../config.ts';
import { abuseLimits } from './abuse-limits.ts';
import { buildTestApp, InjectClient, person } from '../../testing/inject-client.ts';

let db: TestDatabase;
let redis: Redis;
const prefix = testRedisPrefix('abuse-limits');
let replicaA: FastifyInstance;
let replicaB: FastifyInstance;
const LIMITS = { SIGNUP_RATE_PER_IP: '3', ROOM_CREATE_RATE_PER_USER: '3', DM_CREATE_RATE_PER_USER: '2', PASSWORD_CHANGE_RATE_PER_USER: '3' };

beforeAll(async () => {
  db = await createTestDatabase('abuse_limits');
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  // Two admin replicas on one Redis: the budgets are shared, not per process.
  replicaA = await buildTestApp({ pool: db.pool, databaseUrl: db.url, redis, redisPrefix: prefix, env: LIMITS });
  replicaB = await buildTestApp({ pool: db.pool, databaseUrl: db.url, redis, redisPrefix: prefix, env: LIMITS });
});

afterAll(async () => {
  await replicaA?.close();
  await replicaB?.close();
  redis?.disconnect();
  await db?.drop();
  await dropRedisPrefix(prefix);
});

function expectLimited(res: LightMyRequestResponse, sentence: RegExp) {
  expect(res.statusCode).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  const text = /<p>([^<]*)<\/p>/.exec(res.body)?.[1] ?? '';
  expect(text).toMatch(sentence);
  expect(text).toMatch(/Try again in \d+ (minute|second)\(s\)\.$/);
}

async function signedIn(app: FastifyInstance, ip: string) {
  const client = new InjectClient(app, ip);
  const who = person('limit');
  expect((await client.post('/signup', who)).statusCode).toBe(303);
  expect((await client.logIn(who.email, who.password)).statusCode).toBe(303);
  return { client, who };
}

describe('abuse limits', () => {
  it('limits sign-ups per IP across replicas, and other networks are not affected', async () => {
    const ip = '198.51.100.1';
    const results: number[] = [];
    for (const app of [replicaA, replicaB, replicaA]) results.push((await new InjectClient(app, ip).post('/signup', person('su'))).statusCode);
    expect(results).toEqual([303, 303, 303]);
    const fourth = person('su');
    const limited = await new InjectClient(replicaB, ip).post('/signup', fourth);
    expectLimited(limited, /^Too many sign-ups from your network\./);
    const { rowCount } = await db.pool.query('SELECT 1 FROM users WHERE email = $1', [fourth.email]);
    expect(rowCount).toBe(0);
    expect(await redis.keys(`${prefix}rl:*signup:ip:198.51.100.1`)).toHaveLength(1);
    expect((await new InjectClient(replicaA, '198.51.100.2').post('/signup', person('su'))).statusCode).toBe(303);
  });

  it('limits room creation per user across replicas; another user still creates rooms', async () => {
    const { client, who } = await signedIn(replicaA, '198.51.100.10');
    const onB = new InjectClient(replicaB, '198.51.100.11');
    for (const [k, v] of client.cookies) onB.cookies.set(k, v);
    const created = [];
    for (const [i, c] of [client, onB, client].entries()) created.push((await c.post('/rooms', { name: `Flood ${who.handle} ${i}`, kind: 'public', topic: '' }, '/rooms')).statusCode);
    expect(created).toEqual([303, 303, 303]);
    expectLimited(await onB.post('/rooms', { name: `Flood ${who.handle} 4`, kind: 'public', topic: '' }, '/rooms'), /^You have created too many rooms in the last hour\./);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rooms WHERE name LIKE $1`, [`Flood ${who.handle}%`]);
    expect(rows[0]?.n).toBe(3);
    const other = await signedIn(replicaB, '198.51.100.12');
    expect((await other.client.post('/rooms', { name: `Calm ${other.who.handle}`, kind: 'public', topic: '' }, '/rooms')).statusCode).toBe(303);
  });

  it('limits opening direct conversations per user', async () => {
    const { client } = await signedIn(replicaA, '198.51.100.20');
    const peers = [await signedIn(replicaA, '198.51.100.21'), await signedIn(replicaA, '198.51.100.22'), await signedIn(replicaA, '198.51.100.23')];
    expect((await client.post('/direct', { handle: peers[0]!.who.handle }, '/rooms')).statusCode).toBe(303);
    expect((await client.post('/direct', { handle: peers[1]!.who.handle }, '/rooms')).statusCode).toBe(303);
    expectLimited(await client.post('/direct', { handle: peers[2]!.who.handle }, '/rooms'), /^You have opened too many direct conversations in the last hour\./);
    // The peer's own budget is untouched.
    expect((await peers[2]!.client.post('/direct', { handle: peers[0]!.who.handle }, '/rooms')).statusCode).toBe(303);
  });

  it('limits password change attempts per user (guessing the current password through a stolen session)', async () => {
    const { client, who } = await signedIn(replicaA, '198.51.100.30');
    for (let i = 0; i < 3; i++) {
      const res = await client.post('/profile/password', { currentPassword: `guess number ${i}`, newPassword: 'a brand new passphrase 7', confirmPassword: 'a brand new passphrase 7' }, '/profile');
      expect(res.statusCode).toBe(400);
    }
    const right = await client.post('/profile/password', { currentPassword: who.password, newPassword: 'a brand new passphrase 7', confirmPassword: 'a brand new passphrase 7' }, '/profile');
    expectLimited(right, /^Too many password change attempts\./);
    expect((await new InjectClient(replicaB, '198.51.100.31').logIn(who.email, who.password)).statusCode).toBe(303);
  });

  it('does not charge forged (CSRF-less) or signed-out requests', async () => {
    const anon = new InjectClient(replicaA, '198.51.100.40');
    for (let i = 0; i < 5; i++) expect((await anon.request('POST', '/rooms', { name: 'x', kind: 'public' })).statusCode).toBe(403);
    const { client, who } = await signedIn(replicaA, '198.51.100.41');
    for (let i = 0; i < 5; i++) expect((await client.request('POST', '/rooms', { name: `no token ${i}`, kind: 'public' })).statusCode).toBe(403);
    expect((await client.post('/rooms', { name: `After forgeries ${who.handle}`, kind: 'public', topic: '' }, '/rooms')).statusCode).toBe(303);
  });

  it('refuses sign-up and login with 503, not 500 and not unlimited, while the counter store is unreachable', async () => {
    const deadRedis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const app = await buildTestApp({ pool: db.pool, databaseUrl: db.url, redis: deadRedis, redisPrefix: prefix, env: LIMITS });
    try {
      const who = person('outage');
      const res = await new InjectClient(app, '198.51.100.50').post('/signup', who);
      expect(res.statusCode).toBe(503);
      const { rowCount } = await db.pool.query('SELECT 1 FROM users WHERE email = $1', [who.email]);
      expect(rowCount).toBe(0);
      const login = await new InjectClient(app, '198.51.100.51').logIn('someone@example.test', 'any password at all');
      expect(login.statusCode).toBe(503);
    } finally {
      await app.close();
      deadRedis.disconnect();
    }
  });

  it('refuses to start when a limited route no longer exists (renamed elsewhere)', async () => {
    const bare = Fastify();
    await bare.register(fastifyRateLimit, { global: false });
    await bare.register(abuseLimits, { config: adminConfigSchema.parse({ DATABASE_URL: db.url, INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32) }) } as AdminServices);
    for (const url of ['/login', '/signup', '/rooms', '/profile/password']) bare.post(url, async () => 'ok');
    bare.post('/dm', async () => 'ok');
    await expect(bare.ready()).rejects.toThrow('abuse limits name routes that do not exist: POST /direct');
    await bare.close();
  });
});
