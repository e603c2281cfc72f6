// Login lockout keyed by account + client (OWASP device cookies): an attacker's wrong passwords lock
// the attacker's client out of the account, never the owner's browser or another network; clients
// without a device cookie share a larger per-account budget; the per-IP limit stays. Real Postgres
// and Redis, app.inject().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createTestDatabase, dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL, type TestDatabase } from '@parley/devtools';
import { buildTestApp, InjectClient, person } from '../../testing/inject-client.ts';

let db: TestDatabase;
let redis: Redis;
const prefix = testRedisPrefix('login-lockout');
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase('login_lockout');
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  app = await buildTestApp({
    pool: db.pool, databaseUrl: db.url, redis, redisPrefix: prefix,
    env: { LOGIN_RATE_PER_IP: '12', LOGIN_RATE_PER_ACCOUNT: '5', LOGIN_RATE_PER_ACCOUNT_UNTRUSTED: '9', SIGNUP_RATE_PER_IP: '100' },
  });
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await db?.drop();
  await dropRedisPrefix(prefix);
});

async function account(ip: string) {
  const who = person('owner');
  expect((await new InjectClient(app, ip).post('/signup', who)).statusCode).toBe(303);
  return who;
}

describe('login lockout', () => {
  it('locks the attacking client, not the owner: same network with a device cookie, or another network', async () => {
    const sharedNat = '203.0.113.5';
    const owner = await account('203.0.113.4');
    // The owner logged in before from this browser (behind the same NAT the attacker will use).
    const ownerBrowser = new InjectClient(app, sharedNat);
    expect((await ownerBrowser.logIn(owner.email, owner.password)).statusCode).toBe(303);
    expect([...ownerBrowser.cookies.keys()]).toContain('parley_device');
    expect((await ownerBrowser.post('/logout', {}, '/rooms')).statusCode).toBe(303);

    const attacker = new InjectClient(app, sharedNat);
    for (let i = 0; i < 5; i++) expect((await attacker.logIn(owner.email, `guess ${i} of many`)).statusCode).toBe(401);
    const locked = await attacker.logIn(owner.email, owner.password);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(/id="login-error">([^<]*)</.exec(locked.body)?.[1]).toMatch(/^Too many failed attempts for this account from this browser or network\. Try again in \d+ minute\(s\)\.$/);

    // The owner's browser on the same network still gets in, and so does the owner from elsewhere.
    expect((await ownerBrowser.logIn(owner.email, owner.password)).statusCode).toBe(303);
    expect((await new InjectClient(app, '203.0.113.6').logIn(owner.email, owner.password)).statusCode).toBe(303);
    // The attacker, still locked.
    expect((await attacker.logIn(owner.email, owner.password)).statusCode).toBe(429);
  });

  it('a device cookie from another account, or a forged one, does not make a client trusted', async () => {
    const victim = await account('203.0.113.20');
    const attacker = new InjectClient(app, '203.0.113.21');
    const own = await account('203.0.113.21');
    expect((await attacker.logIn(own.email, own.password)).statusCode).toBe(303);
    expect((await attacker.post('/logout', {}, '/rooms')).statusCode).toBe(303);
    const forged = new InjectClient(app, '203.0.113.21');
    forged.cookies.set('parley_device', 'made-up.aaaaaaaaaaaaaaaaaaaaaa');
    for (let i = 0; i < 5; i++) expect((await (i % 2 ? forged : attacker).logIn(victim.email, `guess ${i} of many`)).statusCode).toBe(401);
    // Both count as the IP, whose five failures are used up.
    expect((await attacker.logIn(victim.email, victim.password)).statusCode).toBe(429);
    expect((await forged.logIn(victim.email, victim.password)).statusCode).toBe(429);
  });

  it('clients without a device cookie share one budget per account; the owner\'s browser still gets in', async () => {
    const owner = await account('203.0.113.30');
    const ownerBrowser = new InjectClient(app, '203.0.113.31');
    expect((await ownerBrowser.logIn(owner.email, owner.password)).statusCode).toBe(303);
    expect((await ownerBrowser.post('/logout', {}, '/rooms')).statusCode).toBe(303);
    // A botnet: nine addresses, one guess each (under the per-client limit, over the shared one).
    for (let i = 0; i < 9; i++) expect((await new InjectClient(app, `192.0.2.${100 + i}`).logIn(owner.email, `spray ${i} guess`)).statusCode).toBe(401);
    expect((await new InjectClient(app, '192.0.2.200').logIn(owner.email, owner.password)).statusCode).toBe(429);
    expect((await ownerBrowser.logIn(owner.email, owner.password)).statusCode).toBe(303);
  });

  it('keeps the per-IP limit over all accounts', async () => {
    const client = new InjectClient(app, '203.0.113.40');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await client.logIn(`nobody${i}@example.test`, 'some wrong password')).statusCode);
    expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
    expect(statuses[12]).toBe(429);
    expect(/<p>([^<]*)<\/p>/.exec((await client.logIn('nobody@example.test', 'x')).body)?.[1]).toMatch(/^Too many login attempts from your network\. Try again in \d+ minute\(s\)\.$/);
  });
});
