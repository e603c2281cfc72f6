// Authorization of every route, enumerated from the app's own route table: a route added later without
// a decision (public, any signed-in user, or admin roles) fails here. Real Postgres, app.inject().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { createLogger } from '@parley/logging';
import { buildApp, registeredRoutes } from '../../app.ts';
import { adminConfigSchema } from '../../config.ts';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import { ChatInternalClient } from '../chat/chat-client.ts';
import { MemoryAttemptLimiter } from '../auth/attempt-limiter.ts';
import { type Role, UserRepository } from '../users/user-repository.ts';
import { RoomRepository } from '../rooms/room-repository.ts';

/** Reachable without an account. /metrics is scraped in-cluster; the edge does not route it. */
const PUBLIC = new Set(['GET /', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /login', 'POST /login', 'GET /signup', 'POST /signup', 'POST /logout', 'GET /static/*', 'GET /favicon.ico']);
/** Any signed-in person (they act on their own data or rooms they may see). */
const SIGNED_IN = new Set([
  'GET /rooms', 'POST /rooms', 'GET /rooms/:id', 'POST /rooms/:id/invite', 'POST /direct', 'GET /api/chat-token',
  'GET /profile', 'POST /profile', 'POST /profile/password', 'POST /profile/sessions/revoke', 'POST /profile/sessions/revoke-others',
  // The web client's single-page chat and its conversation API (webclient branch).
  'GET /chat', 'GET /chat/:id', 'GET /api/conversations', 'GET /api/conversations/:id', 'POST /api/conversations/:id/notifications',
  'POST /api/conversations/:id/leave', 'POST /api/conversations/:id/hide', 'POST /api/conversations/:id/reopen',
  // Message search: only what the person may read.
  'GET /api/search',
  // Attachments: the service checks the room (post or read access) on every request.
  'POST /api/rooms/:id/attachments', 'POST /api/rooms/:id/attachments/direct', 'POST /api/attachments/:id/complete',
  'GET /api/attachments/:id', 'GET /api/attachments/:id/info', 'GET /api/attachments/:id/thumbnail', 'DELETE /api/attachments/:id',
]);

let db: TestDatabase;
let app: FastifyInstance;
const people: Record<Role, { id: number; cookie: string; csrf: string }> = {} as never;
let roomId = 0;

async function signedIn(role: Role, sessions: PgSessionStore, users: UserRepository) {
  const user = await users.create({ email: `${role}@example.test`, handle: `${role}_person`, displayName: `A ${role}`, password: 'a password of some length', role });
  const { cookieValue } = await sessions.create(user.id, { ip: '127.0.0.1', userAgent: 'test' });
  const cookie = `parley_sid=${cookieValue}`;
  // A CSRF token and its cookie, as a browser would have them: requests below fail on authorization, not CSRF.
  const page = await app.inject({ method: 'GET', url: '/rooms', headers: { cookie, accept: 'text/html' } });
  const csrfCookie = page.cookies.find((c) => c.name === 'parley_csrf')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { id: user.id, cookie: `${cookie}; parley_csrf=${csrfCookie.value}`, csrf };
}

function concrete(url: string): string {
  return url.replace(':userId', String(people.user.id)).replace(':id', String(roomId)).replace('*', 'style.css');
}

beforeAll(async () => {
  db = await createTestDatabase('admin_authz');
  const config = adminConfigSchema.parse({
    NODE_ENV: 'test', DATABASE_URL: db.url, INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32),
    CHAT_INTERNAL_URL: 'http://127.0.0.1:9', // nothing listens: chat calls fail fast
  });
  const sessions = new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
  app = await buildApp({
    config, log: createLogger('admin', 'silent'), pool: db.pool, redis: null, sessions,
    chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN, 300), loginFailures: new MemoryAttemptLimiter(60_000), registry: new Registry(),
  });
  await app.ready();
  const users = new UserRepository(db.pool);
  for (const role of ['user', 'moderator', 'admin'] as Role[]) people[role] = await signedIn(role, sessions, users);
  roomId = (await new RoomRepository(db.pool).create({ name: 'Town square', topic: '', kind: 'public', createdBy: people.admin.id })).id;
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function call(method: string, url: string, who: { cookie: string; csrf: string } | null) {
  const headers: Record<string, string> = { accept: 'text/html' };
  if (who) headers.cookie = who.cookie;
  if (method === 'GET' || method === 'HEAD') return app.inject({ method: method as 'GET', url, headers });
  return app.inject({
    method: method as 'POST', url,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: who?.csrf ?? '', role: 'admin', status: 'banned', handle: 'user_person', name: 'x', room: String(roomId), seq: '1', userId: String(people.user.id), minutes: '5' }).toString(),
  });
}

describe('authorization of every registered route', () => {
  it('classifies every route: public, signed-in, or role-gated', () => {
    const routes = registeredRoutes(app).filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(25);
    const unclassified = routes
      .map((r) => `${r.method} ${r.url}`)
      .filter((key, i) => !PUBLIC.has(key) && !SIGNED_IN.has(key) && !routes[i]!.roles);
    expect(unclassified, 'routes with no authorization decision').toEqual([]);
    // Everything under /admin is gated (undeclared means admin-only).
    for (const r of routes.filter((x) => x.url === '/admin' || x.url.startsWith('/admin/'))) expect(r.roles, r.url).not.toBeNull();
  });

  it('a plain user gets 403 on every admin route, a moderator on every admin-only one, and nothing changes', async () => {
    const gated = registeredRoutes(app).filter((r) => r.roles && r.method !== 'HEAD');
    expect(gated.length).toBeGreaterThan(15);
    const seen: string[] = [];
    for (const r of gated) {
      for (const role of ['user', 'moderator'] as Role[]) {
        if (r.roles!.includes(role)) continue;
        const res = await call(r.method, concrete(r.url), people[role]);
        expect(res.statusCode, `${role} ${r.method} ${r.url}`).toBe(403);
        expect(res.body, `${role} ${r.method} ${r.url}`).toContain('permission');
        seen.push(`${role} ${r.method} ${r.url}`);
      }
      // Without a session: the login page (GET) or 401, never the content.
      const anon = await call(r.method, concrete(r.url), null);
      expect([302, 401], `anonymous ${r.method} ${r.url}`).toContain(anon.statusCode);
    }
    expect(seen.some((s) => s.startsWith('moderator POST /admin/users/:id/status'))).toBe(true);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`);
    expect(rows[0]?.n).toBe(0);
    const { rows: events } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM control_events`);
    expect(events[0]?.n, 'no control event from a refused request').toBe(0);
    const { rows: u } = await db.pool.query(`SELECT role, status FROM users WHERE id = $1`, [people.user.id]);
    expect(u[0]).toEqual({ role: 'user', status: 'active' });
  });

  it('signed-in routes refuse anonymous callers', async () => {
    for (const key of SIGNED_IN) {
      const [method, url] = key.split(' ') as [string, string];
      const res = await call(method, concrete(url), null);
      expect([302, 401, 403], key).toContain(res.statusCode);
      if (res.statusCode === 302) expect(res.headers.location).toMatch(/^\/login/);
    }
  });

  it('lets the right roles in (so the 403s above mean something)', async () => {
    expect((await call('GET', '/admin/users', people.admin)).statusCode).toBe(200);
    expect((await call('GET', '/admin/users', people.moderator)).statusCode).toBe(200);
    expect((await call('GET', '/admin/audit', people.admin)).statusCode).toBe(200);
    expect((await call('GET', '/admin/api/dashboard', people.moderator)).statusCode).toBe(200);
  });

  it('cannot be sidestepped with an encoded path', async () => {
    const res = await call('GET', '/%61dmin/users', people.user);
    expect(res.statusCode).not.toBe(200);
    expect(res.body).not.toContain('user_person@example.test');
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY names the edge', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie: people.admin.cookie, accept: 'text/html', 'x-forwarded-for': '203.0.113.7' } });
    expect(res.statusCode).toBe(200);
    const post = await app.inject({
      method: 'POST', url: `/admin/users/${people.moderator.id}/role`,
      headers: { cookie: people.admin.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.7' },
      payload: new URLSearchParams({ _csrf: people.admin.csrf, role: 'admin' }).toString(),
    });
    expect(post.statusCode).toBe(303);
    const { rows } = await db.pool.query(`SELECT ip FROM audit_log WHERE action = 'user.role_changed'`);
    expect(rows).toEqual([{ ip: '127.0.0.1' }]);
  });

  it('signs a demoted person out everywhere (their chat sockets must not keep the old role)', async () => {
    const before = await call('GET', '/admin/users', people.moderator);
    expect(before.statusCode).toBe(200); // promoted to admin in the test above
    const res = await app.inject({
      method: 'POST', url: `/admin/users/${people.moderator.id}/role`,
      headers: { cookie: people.admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: people.admin.csrf, role: 'user' }).toString(),
    });
    expect(res.statusCode).toBe(303);
    const after = await call('GET', '/admin/users', people.moderator);
    expect(after.statusCode).toBe(302);
    expect(after.headers.location).toMatch(/^\/login/);
    const { rows } = await db.pool.query<{ details: unknown }>(`SELECT details FROM audit_log WHERE action = 'user.role_changed' ORDER BY id DESC LIMIT 1`);
    expect(rows[0]?.details).toMatchObject({ from: 'admin', to: 'user', sessionsEnded: 1 });
  });
});

describe('user list after a change', () => {
  const post = (url: string, fields: Record<string, string>) => app.inject({
    method: 'POST', url, headers: { cookie: people.admin.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ _csrf: people.admin.csrf, ...fields }).toString(),
  });

  it('a role change returns to the same search, filters and page (carried in the form)', async () => {
    const users = new UserRepository(db.pool);
    for (let i = 0; i < 30; i++) {
      await users.create({ email: `crowd${i}@example.test`, handle: `crowd_${i}`, displayName: `Crowd ${i}`, password: 'a password of some length', role: 'user' });
    }
    const list = await call('GET', '/admin/users?q=crowd&role=user&page=2', people.admin);
    expect(list.statusCode).toBe(200);
    const form = /<form method="post" action="\/admin\/users\/(\d+)\/role"[\s\S]*?name="back" value="([^"]+)"/.exec(list.body);
    expect(form).not.toBeNull();
    const back = form![2]!.replaceAll('&amp;', '&');
    expect(back).toBe('/admin/users?q=crowd&role=user&page=2');

    const res = await post(`/admin/users/${form![1]}/role`, { role: 'moderator', back });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/users?q=crowd&role=user&page=2&done=role');
    expect((await db.pool.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [form![1]])).rows[0]?.role).toBe('moderator');
  });

  it('never redirects off the user list, whatever `back` says', async () => {
    const target = (await db.pool.query<{ id: number }>(`SELECT id FROM users WHERE handle = 'crowd_0'`)).rows[0]!.id;
    const attempts = [
      'https://evil.example/admin/users', '//evil.example/admin/users?q=x', '/\\evil.example', '/admin/users@evil.example',
      '/admin/rooms?q=x', '/admin/users/../rooms', 'javascript:alert(1)', '/admin/users?q=x&next=https://evil.example',
    ];
    for (const back of attempts) {
      const res = await post(`/admin/users/${target}/role`, { role: 'user', back });
      expect(res.statusCode, back).toBe(303);
      expect(res.headers.location, back).toMatch(/^\/admin\/users(\?q=x)?[?&]done=role$/);
    }
  });
});
