// Ending sessions reaches chat durably: logout, revoking a session, a password change (ends the other
// sessions) and an admin's "sign out everywhere" each record session_revoked events whose session_id is
// exactly the `sid` claim of that session's chat tokens, and the sessions are gone from the store.
// Real Postgres and Redis (the deployed session store), through the routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { verifyChatToken } from '@parley/chat-token';
import { createTestDatabase, dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL, type TestDatabase } from '@parley/devtools';
import { RedisSessionStore } from '../../sessions/redis-store.ts';
import { person, servicesFor } from '../control/service-test-kit.ts';
import { type Browser, postForm, signIn, testApp, TEST_SECRETS } from '../control/app-test-kit.ts';

let db: TestDatabase;
let redis: Redis;
let app: FastifyInstance;
let sessions: RedisSessionStore;
const prefix = testRedisPrefix('admin-session-events');

beforeAll(async () => {
  db = await createTestDatabase('admin_session_events');
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  sessions = new RedisSessionStore(redis, prefix, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
  app = await testApp(db.pool, db.url, sessions);
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await dropRedisPrefix(prefix);
  await db?.drop();
});

/** The sid claim of a chat token minted for this browser's session. */
async function chatSid(who: Browser): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/api/chat-token', headers: { cookie: who.cookie } });
  expect(res.statusCode).toBe(200);
  const verified = verifyChatToken(res.json<{ token: string }>().token, TEST_SECRETS.CHAT_TOKEN_SECRET);
  if (!verified.ok) throw new Error(verified.reason);
  return verified.claims.sid;
}

const revokedSids = async (userId: number) =>
  (await db.pool.query<{ session_id: string }>(`SELECT session_id FROM control_events WHERE kind = 'session_revoked' AND user_id = $1 ORDER BY id`, [userId])).rows.map((r) => r.session_id);
const stillThere = async (who: Browser) => (await sessions.listForUser(who.userId)).some((x) => x.id === who.sessionId);

describe('session_revoked events carry the chat token sid', () => {
  it('password change ends the other sessions; revoking one and logging out end those', async () => {
    const s = servicesFor(db.pool, sessions);
    const ann = await person(s, 'user', 'the first password 1');
    const [here, phone, laptop, tablet] = [await signIn(app, sessions, ann.id), await signIn(app, sessions, ann.id), await signIn(app, sessions, ann.id), await signIn(app, sessions, ann.id)];
    const sids = { here: await chatSid(here), phone: await chatSid(phone), laptop: await chatSid(laptop), tablet: await chatSid(tablet) };
    expect(sids.here).toBe(here.sessionId);

    const changed = await postForm(app, here, '/profile/password', { currentPassword: 'the first password 1', newPassword: 'the second password 2', confirmPassword: 'the second password 2' });
    expect(changed.statusCode).toBe(303);
    expect((await revokedSids(ann.id)).sort()).toEqual([sids.phone, sids.laptop, sids.tablet].sort());
    expect(await stillThere(here)).toBe(true);
    for (const gone of [phone, laptop, tablet]) expect(await stillThere(gone)).toBe(false);
    const audit = await db.pool.query(`SELECT action, details FROM audit_log WHERE target_id = $1 ORDER BY id`, [String(ann.id)]);
    expect(audit.rows).toEqual([{ action: 'user.password_changed', details: { sessionsEnded: 3 } }]);

    const other = await signIn(app, sessions, ann.id);
    const otherSid = await chatSid(other);
    expect((await postForm(app, here, '/profile/sessions/revoke', { session: other.sessionId })).statusCode).toBe(303);
    expect((await revokedSids(ann.id)).at(-1)).toBe(otherSid);
    expect(await stillThere(other)).toBe(false);
    // Someone else's session id is "not found", and nothing is recorded.
    const bob = await signIn(app, sessions, (await person(s)).id);
    expect((await postForm(app, here, '/profile/sessions/revoke', { session: bob.sessionId })).statusCode).toBe(404);
    expect(await stillThere(bob)).toBe(true);
    expect(await revokedSids(bob.userId)).toEqual([]);

    expect((await postForm(app, here, '/logout')).statusCode).toBe(303);
    expect((await revokedSids(ann.id)).at(-1)).toBe(sids.here);
    expect(await stillThere(here)).toBe(false);
    expect((await app.inject({ method: 'GET', url: '/api/chat-token', headers: { cookie: here.cookie } })).statusCode).toBe(401);
  });

  it("an admin's sign-out-everywhere and ban revoke every session of the person", async () => {
    const s = servicesFor(db.pool, sessions);
    const admin = await signIn(app, sessions, (await person(s, 'admin')).id);
    const eve = await person(s);
    const first = [await signIn(app, sessions, eve.id), await signIn(app, sessions, eve.id)];
    const firstSids = await Promise.all(first.map(chatSid));
    expect((await postForm(app, admin, `/admin/users/${eve.id}/sessions/revoke`)).statusCode).toBe(303);
    expect((await revokedSids(eve.id)).sort()).toEqual([...firstSids].sort());
    expect(await sessions.listForUser(eve.id)).toEqual([]);

    const again = await signIn(app, sessions, eve.id);
    const againSid = await chatSid(again);
    expect((await postForm(app, admin, `/admin/users/${eve.id}/status`, { status: 'banned' })).statusCode).toBe(303);
    expect((await revokedSids(eve.id)).at(-1)).toBe(againSid);
    const status = await db.pool.query(`SELECT payload FROM control_events WHERE kind = 'user_status' AND user_id = $1`, [eve.id]);
    expect(status.rows).toEqual([{ payload: { status: 'banned' } }]);
    expect(await sessions.listForUser(eve.id)).toEqual([]);
  });
});
