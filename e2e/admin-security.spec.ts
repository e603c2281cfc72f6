// Security of the panel against real processes and Chromium: CSRF from another site, 403s for people
// without the role, escaping of user-supplied strings, login rate limits, session fixation, headers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { freePort, type Stack, type TestDatabase } from '@parley/devtools';
import { LANDING, logIn, screenshot, signUp } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';

const ADMIN = { email: 'sec-admin@example.test', password: 'admin password for tests 2' };
const test = e2eTest({
  label: 'admin_security',
  stack: {
    // Loopback plays the edge here, so tests can speak for other client IPs with X-Forwarded-For.
    adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password, TRUST_PROXY: '127.0.0.1', LOGIN_RATE_PER_IP: '8', LOGIN_RATE_PER_ACCOUNT: '5', ROOM_CREATE_RATE_PER_USER: '3' },
  },
});
let db: TestDatabase;
let stack: Stack;
let browser: Browser;
let evil: Server;
let evilOrigin = '';
const contexts: BrowserContext[] = [];

test.beforeAll(async ({ db: d, stack: s, browser: b }) => {
  db = d;
  stack = s;
  browser = b;
  // Another site (localhost is a different site from 127.0.0.1) with a form that posts to the panel.
  const port = await freePort();
  evilOrigin = `http://localhost:${port}`;
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><form id="f" method="post" action="${stack.adminUrl}/rooms"><input name="name" value="Pwned room"><input name="kind" value="public"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(port, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  for (const ctx of contexts) await ctx.close().catch(() => undefined);
  await new Promise((resolve) => evil?.close(resolve));
});

async function page() {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  return ctx.newPage();
}

describe('panel security', () => {
  it('rejects a cross-site form post, and a same-site post without the CSRF token', async () => {
    const victim = await page();
    const user = newUser('victim');
    await signUp(victim, stack.adminUrl, user);
    const [response] = await Promise.all([
      victim.waitForResponse((r) => r.url() === `${stack.adminUrl}/rooms` && r.request().method() === 'POST'),
      victim.goto(`${evilOrigin}/`),
    ]);
    expect(response.status()).toBe(403);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rooms WHERE name = 'Pwned room'`);
    expect(rows[0]?.n).toBe(0);

    // Even with the session cookie in hand (a client that sends it), no token means no change.
    const panel = new PanelClient(stack.adminUrl);
    await panel.signUp(newUser('tokenless'));
    for (const token of [undefined, 'forged-token']) {
      const res = await panel.request('/rooms', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ name: 'No token room', kind: 'public', ...(token ? { _csrf: token } : {}) }).toString(),
      });
      expect(res.status).toBe(403);
    }
    expect((await panel.postForm('/rooms', { name: 'With token room', kind: 'public', topic: '' }, '/rooms')).status).toBe(303);
    const { rows: made } = await db.pool.query(`SELECT name FROM rooms WHERE name LIKE '%token room' ORDER BY name`);
    expect(made).toEqual([{ name: 'With token room' }]);
  });

  it('shows a non-admin 403 on admin pages and APIs, and no admin links', async () => {
    const p = await page();
    await signUp(p, stack.adminUrl, newUser('plain'));
    expect(await p.locator('nav a[href="/admin"]').count()).toBe(0);
    for (const path of ['/admin', '/admin/users', '/admin/dashboard', '/admin/audit', '/admin/moderation']) {
      const res = await p.goto(`${stack.adminUrl}${path}`);
      expect(res?.status(), path).toBe(403);
    }
    await screenshot(p, 'forbidden');
    const api = await p.evaluate(async () => (await fetch('/admin/api/dashboard', { headers: { accept: 'application/json' } })).status);
    expect(api).toBe(403);
    const del = await p.evaluate(async () => {
      const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
      return (await fetch('/admin/api/messages/delete', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: '{"room":1,"seq":1}' })).status;
    });
    expect(del).toBe(403);
  });

  it('renders user-supplied names as text in the admin tables and the room', async () => {
    const evilName = '<img src=x onerror="window.__pwned=1">';
    const mallory = { ...newUser('mallory'), displayName: evilName };
    const m = await page();
    await signUp(m, stack.adminUrl, mallory);
    await m.goto(`${stack.adminUrl}/rooms`);
    await m.fill('#name', `<b>room</b> ${Date.now()}`);
    await m.fill('#topic', '<script>window.__pwned=2</script>');
    await Promise.all([m.waitForURL(/\/rooms\/\d+$/), m.click('#create-room button[type=submit]')]);
    await m.locator('#conn-state[data-state=open]').waitFor({ timeout: 15_000 });
    await m.locator('#presence li', { hasText: 'onerror' }).waitFor();
    expect(await m.locator('#room img, #room b, #room script').count()).toBe(0);

    const admin = await page();
    await logIn(admin, stack.adminUrl, ADMIN.email, ADMIN.password);
    await admin.goto(`${stack.adminUrl}/admin/users?q=${mallory.handle}`);
    const cell = admin.locator(`#users tr[data-handle="${mallory.handle}"] td strong`);
    expect(await cell.textContent()).toBe(evilName);
    expect(await admin.locator('#users img').count()).toBe(0);
    await admin.goto(`${stack.adminUrl}/admin/rooms`);
    expect(await admin.locator('#rooms b, #rooms script').count()).toBe(0);
    for (const p of [m, admin]) expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('limits bad logins per account + client and per IP with 429 and Retry-After, with one generic message', async () => {
    const panel = new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.1' });
    const target = newUser('target');
    await panel.signUp(target);
    const attempt = async (client: PanelClient, email: string, password: string) => {
      const res = await client.logIn(email, password);
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
    };
    // Unknown account and wrong password look the same.
    const unknown = await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.2' }), 'nobody@example.test', 'whatever password');
    const wrong = await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.2' }), target.email, 'wrong password!');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(/id="login-error">([^<]*)</.exec(unknown.body)?.[1]).toBe('Email or password is incorrect.');
    expect(/id="login-error">([^<]*)</.exec(wrong.body)?.[1]).toBe('Email or password is incorrect.');

    // Per account + client: 5 failures from one address (one above), then 429 there even with the
    // right password; the owner from another address is not locked out.
    for (let i = 0; i < 4; i++) expect((await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.2' }), target.email, `wrong ${i} password`)).status).toBe(401);
    const blocked = await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.2' }), target.email, target.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(blocked.body).toContain('Too many failed attempts');
    expect((await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.20' }), target.email, target.password)).status).toBe(303);

    // Per IP: 8 attempts per window from one address, whatever the accounts.
    const ipClient = new PanelClient(stack.adminUrl, { 'x-forwarded-for': '203.0.113.50' });
    const statuses: number[] = [];
    let last = { status: 0, retryAfter: null as string | null, body: '' };
    for (let i = 0; i < 9; i++) {
      last = await attempt(ipClient, `someone${i}@example.test`, 'bad password 123');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(last.status).toBe(429);
    expect(Number(last.retryAfter)).toBeGreaterThan(0);
    expect(last.body).toContain('Too many login attempts');
    // Another address is not affected.
    expect((await attempt(new PanelClient(stack.adminUrl, { 'x-forwarded-for': '203.0.113.51' }), 'someone@example.test', 'bad password 123')).status).toBe(401);
  });

  it('regenerates the session id at login and sends security headers', async () => {
    const user = newUser('fixation');
    const panel = new PanelClient(stack.adminUrl, { 'x-forwarded-for': '192.0.2.77' });
    await panel.signUp(user);
    const before = panel.cookie('parley_sid')!;
    // Logging in while holding a session (e.g. one planted by an attacker) yields a new id.
    expect((await panel.postForm('/login', { email: user.email, password: user.password }, '/rooms')).status).toBe(303);
    const after = panel.cookie('parley_sid')!;
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    const stale = await fetch(`${stack.adminUrl}/profile`, { redirect: 'manual', headers: { cookie: `parley_sid=${before}`, accept: 'text/html' } });
    expect(stale.status).toBe(302);
    // The session list shows the forwarded client IP (TRUST_PROXY names loopback as the edge here).
    const profile = await (await panel.request('/profile', { headers: { accept: 'text/html' } })).text();
    expect(profile).toContain('192.0.2.77');

    const res = await fetch(`${stack.adminUrl}/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('shows form errors next to the field that caused them', async () => {
    const p = await page();
    await p.goto(`${stack.adminUrl}/signup`);
    await p.fill('#email', 'not-an-email');
    await p.fill('#handle', 'x');
    await p.fill('#displayName', 'Someone');
    await p.fill('#password', 'short');
    await p.click('button[type=submit]');
    expect(await p.locator('#email-error').textContent()).toContain('valid email');
    expect(await p.locator('#handle').getAttribute('aria-describedby')).toBe('handle-error');
    expect(await p.locator('#password-error').textContent()).toContain('12 characters');
    await screenshot(p, 'signup-errors');

    const user = newUser('pwchange');
    await signUp(p, stack.adminUrl, user);
    await p.goto(`${stack.adminUrl}/profile`);
    await p.fill('#currentPassword', user.password);
    await p.fill('#newPassword', 'a new password 1');
    await p.fill('#confirmPassword', 'a different one 2');
    await p.click('#password-form button[type=submit]');
    expect(await p.locator('#confirmPassword-error').textContent()).toContain('differ');
    await p.fill('#currentPassword', 'not my password');
    await p.fill('#newPassword', 'a new password 1');
    await p.fill('#confirmPassword', 'a new password 1');
    await p.click('#password-form button[type=submit]');
    expect(await p.locator('#currentPassword-error').textContent()).toContain('not your current password');
    await p.fill('#currentPassword', user.password);
    await p.fill('#newPassword', 'a new password 1');
    await p.fill('#confirmPassword', 'a new password 1');
    await Promise.all([p.waitForURL(/done=password/), p.click('#password-form button[type=submit]')]);
    expect(await p.locator('.flash').textContent()).toContain('Password changed');
    const again = new PanelClient(stack.adminUrl, { 'x-forwarded-for': '192.0.2.88' });
    expect((await again.logIn(user.email, 'a new password 1')).status).toBe(303);
  });

  it('an attacker\'s wrong passwords from the same network do not lock the owner\'s browser out', async () => {
    const nat = { 'x-forwarded-for': '198.51.100.99' };
    const owner = newUser('owner');
    await new PanelClient(stack.adminUrl, { 'x-forwarded-for': '198.51.100.98' }).signUp(owner);
    const ctx = await browser.newContext({ extraHTTPHeaders: nat });
    contexts.push(ctx);
    const ownerPage = await ctx.newPage();
    await logIn(ownerPage, stack.adminUrl, owner.email, owner.password);
    await Promise.all([ownerPage.waitForURL(/\/login$/), ownerPage.click('form[action="/logout"] button')]);

    const attacker = new PanelClient(stack.adminUrl, nat);
    for (let i = 0; i < 5; i++) expect((await attacker.logIn(owner.email, `guess number ${i}`)).status).toBe(401);
    const locked = await attacker.logIn(owner.email, owner.password);
    expect(locked.status).toBe(429);

    // Same address, but the owner's browser holds the device cookie from its last login.
    await logIn(ownerPage, stack.adminUrl, owner.email, owner.password);
    expect(new URL(ownerPage.url()).pathname).toMatch(LANDING);
    await screenshot(ownerPage, 'owner-not-locked-out');
  });

  it('answers a room flood with a 429 page that says when to try again', async () => {
    const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.120' } });
    contexts.push(ctx);
    const p = await ctx.newPage();
    await signUp(p, stack.adminUrl, newUser('flooder'));
    let last = 0;
    for (let i = 0; i < 4; i++) {
      await p.goto(`${stack.adminUrl}/rooms`);
      await p.fill('#name', `Flood ${Date.now()} ${i}`);
      const [res] = await Promise.all([p.waitForResponse((r) => r.url() === `${stack.adminUrl}/rooms` && r.request().method() === 'POST'), p.click('#create-room button[type=submit]')]);
      last = res.status();
      if (i < 3) expect(last).toBe(303);
      else expect(Number(res.headers()['retry-after'])).toBeGreaterThan(0);
    }
    expect(last).toBe(429);
    expect(await p.locator('h1').textContent()).toBe('Too many attempts');
    expect(await p.locator('main p, section p').first().textContent()).toMatch(/^You have created too many rooms in the last hour\. Try again in \d+ minute\(s\)\.$/);
    await screenshot(p, 'room-flood-429');
  });

  it('refuses to start with the repository\'s example secrets, in one line', () => {
    const example = Object.fromEntries(readFileSync('deploy/k8s/base/secrets.env.example', 'utf8').split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const r = spawnSync(process.execPath, ['apps/admin/dist/main.js'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', DATABASE_URL: 'postgres://x@127.0.0.1:1/x', INTERNAL_TOKEN: example.INTERNAL_TOKEN!, CHAT_TOKEN_SECRET: example.CHAT_TOKEN_SECRET!, SESSION_SECRET: example.SESSION_SECRET! },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Invalid configuration: INTERNAL_TOKEN is the published example value from the repository, not a secret/);
    expect(lines[0]).toContain('SESSION_SECRET is the published example value');
    expect(lines[0]).not.toContain('change-me');
  });
});
