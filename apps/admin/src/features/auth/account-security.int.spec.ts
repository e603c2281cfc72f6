// The smaller findings on the panel's side, each against the real app (Postgres, app.inject()):
// sign-up does not reveal existing e-mails, weak passwords are refused, cookies are __Host-/Secure over
// TLS, sessions have an absolute lifetime, request logs hold no query strings, Permissions-Policy and
// no-store on signed-in pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '@parley/config';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { adminConfigSchema } from '../../config.ts';
import { UserRepository } from '../users/user-repository.ts';
import { buildTestApp, InjectClient, person } from '../../testing/inject-client.ts';

let db: TestDatabase;
let app: FastifyInstance;
let tlsApp: FastifyInstance;
const logLines: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('account_security');
  app = await buildTestApp({ pool: db.pool, databaseUrl: db.url, logLines, env: { SESSION_ABSOLUTE_HOURS: '1', SIGNUP_RATE_PER_IP: '1000' } });
  tlsApp = await buildTestApp({ pool: db.pool, databaseUrl: db.url, env: { PUBLIC_URL: 'https://parley.example.test', SIGNUP_RATE_PER_IP: '1000' } });
});

afterAll(async () => {
  await app?.close();
  await tlsApp?.close();
  await db?.drop();
});

/** A person made in the database (not through sign-up) and logged in through the form. */
async function loggedIn(label: string) {
  const who = person(label);
  await new UserRepository(db.pool).create(who);
  const client = new InjectClient(app);
  expect((await client.logIn(who.email, who.password)).statusCode).toBe(303);
  return { who, client };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('sign-up does not reveal which e-mail addresses have an account', () => {
  it('answers a taken e-mail exactly like a new one, with the same work', async () => {
    const existing = person('exists');
    expect((await new InjectClient(app).post('/signup', existing)).statusCode).toBe(303);
    const answer = async (email: string) => {
      const client = new InjectClient(app, '198.51.100.9');
      const page = await client.request('GET', '/signup');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const started = performance.now();
      const res = await client.request('POST', '/signup', { ...person('probe'), email, _csrf: token });
      const ms = performance.now() - started;
      return { ms, status: res.statusCode, location: res.headers.location, body: res.body, cookies: res.cookies.map((c) => c.name).sort() };
    };
    const fresh = await answer(person('new').email);
    const taken = await answer(existing.email.toUpperCase());
    expect(taken.status).toBe(303);
    expect({ ...taken, ms: 0 }).toEqual({ ...fresh, ms: 0 });
    expect(fresh.location).toBe('/login?signedup=1');
    expect(fresh.cookies).not.toContain('parley_sid');
    // Same timing shape: both hash the password (argon2id) and try the INSERT. Medians of a few
    // runs, compared with each other (a path that skipped the hash would be ~10× faster).
    const newTimes: number[] = [];
    const takenTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      newTimes.push((await answer(person('new').email)).ms);
      takenTimes.push((await answer(existing.email)).ms);
    }
    const ratio = median(takenTimes) / median(newTimes);
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(2.5);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)', [existing.email]);
    expect(rows[0]?.n).toBe(1);
  });

  it('says a handle is taken whatever the e-mail (handles are public)', async () => {
    const a = person('handle');
    expect((await new InjectClient(app).post('/signup', a)).statusCode).toBe(303);
    for (const email of [a.email, person('other').email]) {
      const res = await new InjectClient(app).post('/signup', { ...person('x'), handle: a.handle, email });
      expect(res.statusCode).toBe(409);
      expect(res.body).toContain('This handle is taken.');
    }
  });

  it('the notice after sign-up covers both cases, and the new account logs in', async () => {
    const who = person('notice');
    const client = new InjectClient(app);
    await client.post('/signup', who);
    const page = await client.request('GET', '/login?signedup=1');
    expect(page.body).toContain('If that e-mail address was new, your account is ready');
    expect((await client.logIn(who.email, who.password)).statusCode).toBe(303);
  });
});

describe('password strength', () => {
  const weak = ['aaaaaaaaaa', 'aaaaaaaaaaaaaaaa', 'password1234', 'qwertyuiop123', 'abcdefghijklmn', 'short pw'];

  it('refuses weak passwords at sign-up with a reason, and the person\'s own handle', async () => {
    for (const password of weak) {
      const res = await new InjectClient(app).post('/signup', { ...person('weak'), password });
      expect(res.statusCode, password).toBe(400);
      expect(/id="password-error"[^>]*>([^<]*)</.exec(res.body)?.[1], password).toBeTruthy();
    }
    const who = person('selfish');
    const own = await new InjectClient(app).post('/signup', { ...who, password: `${who.handle}2024` });
    expect(own.statusCode).toBe(400);
    const { rowCount } = await db.pool.query('SELECT 1 FROM users WHERE handle = $1', [who.handle]);
    expect(rowCount).toBe(0);
  });

  it('refuses a weak new password at password change', async () => {
    const { who, client } = await loggedIn('changer');
    const res = await client.post('/profile/password', { currentPassword: who.password, newPassword: 'aaaaaaaaaaaa', confirmPassword: 'aaaaaaaaaaaa' }, '/profile');
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Repeated characters');
  });

  it('refuses a weak or example bootstrap admin password at start', () => {
    const base = { DATABASE_URL: 'postgres://a@b/c', INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32), PARLEY_ADMIN_EMAIL: 'a@b.test' };
    for (const pw of ['aaaaaaaaaaaa', 'change-me-first-admin-password', 'password1234']) {
      expect(() => parseConfig(adminConfigSchema, { ...base, PARLEY_ADMIN_PASSWORD: pw })).toThrow(/PARLEY_ADMIN_PASSWORD is too weak/);
    }
    expect(parseConfig(adminConfigSchema, { ...base, PARLEY_ADMIN_PASSWORD: 'admin password for tests 1' }).PARLEY_ADMIN_PASSWORD).toBe('admin password for tests 1');
  });
});

describe('cookies', () => {
  it('over TLS: __Host- names, Secure, Path=/, no Domain, for the session, CSRF and device cookies', async () => {
    const who = person('tls');
    const client = new InjectClient(tlsApp);
    await client.post('/signup', who);
    const page = await tlsApp.inject({ method: 'GET', url: '/login', headers: { accept: 'text/html' } });
    const csrf = page.cookies.find((c) => c.name === '__Host-parley_csrf');
    expect(csrf).toMatchObject({ secure: true, path: '/', httpOnly: true });
    const login = await client.logIn(who.email, who.password);
    expect(login.statusCode).toBe(303);
    const names = login.cookies.map((c) => c.name).sort();
    expect(names).toEqual(['__Host-parley_device', '__Host-parley_sid']);
    for (const c of login.cookies) {
      expect(c, c.name).toMatchObject({ secure: true, path: '/', httpOnly: true });
      expect(c.domain, c.name).toBeUndefined();
    }
    expect((await client.request('GET', '/rooms')).statusCode).toBe(200);
  });

  it('over plain http (local): plain names, Secure only when the request came over https', async () => {
    const plain = await app.inject({ method: 'GET', url: '/login', headers: { accept: 'text/html' } });
    expect(plain.cookies.find((c) => c.name === 'parley_csrf')?.secure).toBeFalsy();
    const viaTls = await app.inject({ method: 'GET', url: '/login', headers: { accept: 'text/html', 'x-forwarded-proto': 'https' } });
    expect(viaTls.cookies.find((c) => c.name === 'parley_csrf')?.secure).toBe(true);
  });
});

describe('sessions', () => {
  it('end SESSION_ABSOLUTE_HOURS after login however active they are', async () => {
    const { who, client } = await loggedIn('old');
    expect((await client.request('GET', '/profile')).statusCode).toBe(200);
    // Logged in 61 minutes ago and active since (last seen now, idle expiry far ahead).
    await db.pool.query(`UPDATE sessions SET created_at = now() - interval '61 minutes', last_seen_at = now() WHERE user_id = (SELECT id FROM users WHERE email = $1)`, [who.email]);
    const res = await client.request('GET', '/profile');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(/^\/login/);
    const { rowCount } = await db.pool.query('SELECT 1 FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)', [who.email]);
    expect(rowCount).toBe(0);
  });
});

describe('responses and logs', () => {
  it('logs request paths without their query strings', async () => {
    logLines.length = 0;
    await app.inject({ method: 'GET', url: '/login?next=/rooms/42&token=very-secret-value-123', headers: { accept: 'text/html' } });
    const requestLogs = logLines.filter((l) => l.includes('incoming request') || l.includes('request completed'));
    expect(requestLogs.length).toBeGreaterThan(0);
    expect(requestLogs.join('\n')).toContain('"path":"/login"');
    expect(logLines.join('\n')).not.toContain('very-secret-value-123');
  });

  it('sends Permissions-Policy everywhere and no-store on signed-in and form pages', async () => {
    const { client } = await loggedIn('cache');
    for (const path of ['/rooms', '/profile']) {
      const res = await client.request('GET', path);
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['cache-control'], path).toBe('no-store');
      expect(res.headers['permissions-policy'], path).toContain('camera=()');
    }
    const login = await app.inject({ method: 'GET', url: '/login', headers: { accept: 'text/html' } });
    expect(login.headers['cache-control']).toBe('no-store');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).headers['permissions-policy']).toContain('geolocation=()');
  });
});
