// The panel's journeys in Chromium against real processes: two admins + two chat replicas, real
// Postgres and Redis. People sit on different chat replicas (admin talks to replica 0 only; the bus fans
// out), so every live effect below crosses replicas: the main admin's pages connect to replica 1, a
// second admin process (same database and Redis) serves pages that connect to replica 0.
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Stack, TestDatabase } from '@parley/devtools';
import { logIn, screenshot, signUp, waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const ADMIN = { email: 'root-admin@example.test', password: 'admin password for tests 1' };
/**
 * How long a tab may take to show a ban, delete or mute before the test gives up: a give-up time, not
 * a latency bound (load stretches it). Where the order is defined, a sentinel checks liveness instead.
 */
const UPDATE_WAIT_MS = 20_000;

const test = e2eTest({
  label: 'admin_journeys',
  stack: {
    chatReplicas: 2, browserChatReplica: 1,
    extraAdmins: [{ browserChatReplica: 0 }],
    adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password },
  },
});
let db: TestDatabase;
let stack: Stack;
let browser: Browser;

const panels = new Map<Page, string>();

/** A person whose room pages connect to chat replica `replica`: they use the admin that advertises it. */
async function newPage(replica: 0 | 1): Promise<Page> {
  const baseURL = replica === 0 ? stack.extraAdmins[0]!.url : stack.adminUrl;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL });
  const page = await ctx.newPage();
  panels.set(page, baseURL);
  return page;
}

/** The panel (admin process) this page uses; relative URLs in goto/waitForURL resolve against it. */
function panel(page: Page): string {
  return panels.get(page)!;
}

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, browser: b }) => void ([db, stack, browser] = [d, s, b]));

describe('user and admin panel journeys (2 chat replicas)', () => {
  const ann = newUser('ann');
  const bob = newUser('bob');
  const mod = newUser('mod');
  let annPage: Page;
  let bobPage: Page;
  let adminPage: Page;
  let roomPath = '';

  it('sign up → join a public room → chat live across replicas; markup in messages stays text', async () => {
    bobPage = await newPage(0);
    annPage = await newPage(1);
    await signUp(bobPage, panel(bobPage), bob);
    await bobPage.goto('/rooms');
    await bobPage.fill('#name', 'Lobby');
    await bobPage.fill('#topic', 'Say hello');
    await Promise.all([bobPage.waitForURL(/\/rooms\/\d+$/), bobPage.click('#create-room button[type=submit]')]);
    roomPath = new URL(bobPage.url()).pathname;

    await signUp(annPage, panel(annPage), ann);
    await annPage.goto('/rooms');
    await screenshot(annPage, 'rooms');
    // Ann finds the room in the list and joins it.
    await Promise.all([annPage.waitForURL(roomPath), annPage.getByRole('link', { name: 'Join Lobby' }).click()]);
    await waitConnected(annPage);
    await waitConnected(bobPage);

    await annPage.fill('#message-input', 'Hello from Ann');
    await annPage.press('#message-input', 'Enter');
    await bobPage.locator('#messages li[data-seq] .body', { hasText: 'Hello from Ann' }).waitFor({ timeout: 10_000 });

    const evil = '<img src=x onerror="window.__pwned=1">';
    await bobPage.fill('#message-input', evil);
    await bobPage.press('#message-input', 'Enter');
    const body = annPage.locator('#messages li[data-seq] .body', { hasText: 'onerror' });
    await body.waitFor({ timeout: 10_000 });
    expect(await body.textContent()).toBe(evil);
    expect(await annPage.locator('#messages img').count()).toBe(0);
    expect(await annPage.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // The two people really are on different replicas.
    await expect.poll(async () => {
      const res = await fetch(`${stack.chats[0]!.url}/internal/stats`, { headers: { 'x-internal-token': stack.secrets.INTERNAL_TOKEN } });
      const s = (await res.json()) as { replicas: { replica: string; connections: number }[] };
      return s.replicas.map((r) => `${r.replica}:${r.connections >= 1}`).join(',');
    }, { timeout: 10_000 }).toBe('chat-0:true,chat-1:true');
  });

  it('admin promotes a moderator; the moderator deletes a message and it disappears from the others\' screens', async () => {
    const modPage = await newPage(0);
    await signUp(modPage, panel(modPage), mod);
    adminPage = await newPage(0);
    await logIn(adminPage, panel(adminPage), ADMIN.email, ADMIN.password);
    await adminPage.goto(`/admin/users?q=${mod.handle}`);
    const row = adminPage.locator(`#users tr[data-handle="${mod.handle}"]`);
    await row.locator('select[name=role]').selectOption('moderator');
    await Promise.all([adminPage.waitForURL(/done=role/), row.getByRole('button', { name: 'Save' }).click()]);
    await expect.poll(() => adminPage.locator(`#users tr[data-handle="${mod.handle}"] select[name=role]`).inputValue()).toBe('moderator');

    // The new role needs a new page load (the chat token carries it).
    await modPage.goto(roomPath);
    await waitConnected(modPage);
    const annMessage = modPage.locator('#messages li[data-seq]', { hasText: 'Hello from Ann' });
    await annMessage.hover();
    modPage.once('dialog', (d) => void d.accept());
    await annMessage.getByRole('button', { name: /Delete message by/ }).click();
    // Ordering, not a stopwatch. The delete is a control event each replica applies to its sockets.
    // Bob shares replica 0 with the moderator: once the moderator's tab shows it, replica 0 has written
    // it to Bob's socket too, so a message Bob sends afterwards comes back to his tab after it.
    const deleted = (page: Page) => page.locator('#messages li.deleted .body', { hasText: 'This message was deleted.' });
    await deleted(modPage).waitFor({ timeout: UPDATE_WAIT_MS });
    await bobPage.fill('#message-input', 'sentinel after the delete');
    await bobPage.press('#message-input', 'Enter');
    await bobPage.locator('#messages li[data-seq] .body', { hasText: 'sentinel after the delete' }).waitFor({ timeout: UPDATE_WAIT_MS });
    expect(await deleted(bobPage).count()).toBe(1);
    expect(await bobPage.locator('#messages .body', { hasText: 'Hello from Ann' }).count()).toBe(0);

    // Mute from the room page: Ann is told at once and her composer locks.
    await annPage.fill('#message-input', 'still here');
    await annPage.press('#message-input', 'Enter');
    const annLive = modPage.locator('#messages li[data-seq]', { hasText: 'still here' });
    await annLive.waitFor({ timeout: 10_000 });
    await annLive.hover();
    modPage.once('dialog', (d) => void d.accept());
    await annLive.getByRole('button', { name: /Mute .* for 15 minutes/ }).click();
    await annPage.locator('#moderation-notice:not([hidden])', { hasText: 'muted you' }).waitFor({ timeout: UPDATE_WAIT_MS });
    // Ann is on replica 1, which applies control events in commit order: the mute came after the
    // delete, so her tab showed the delete before the mute.
    expect(await deleted(annPage).count()).toBe(1);
    expect(await annPage.locator('#messages .body', { hasText: 'Hello from Ann' }).count()).toBe(0);
    expect(await annPage.locator('#message-input').isDisabled()).toBe(true);
    // Seen through ChatConnection's `moderation` event: app.js leaves the page's WebSocket alone.
    expect(await annPage.evaluate(() => WebSocket.toString().includes('[native code]'))).toBe(true);
    await screenshot(annPage, 'room-muted');
    await screenshot(modPage, 'room-moderator');

    // Both actions are in the audit log, with who did them.
    const { rows } = await db.pool.query(`SELECT a.action, u.handle FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE a.action IN ('message.deleted', 'user.muted', 'user.role_changed') ORDER BY a.id`);
    expect(rows).toEqual([
      { action: 'user.role_changed', handle: 'root_admin' },
      { action: 'message.deleted', handle: mod.handle },
      { action: 'user.muted', handle: mod.handle },
    ]);
  });

  it('admin bans a user: their open chat tab (other replica) is disconnected at once and cannot come back', async () => {
    // Ann is on replica 1; admin calls replica 0.
    const token = await annPage.evaluate(async () => ((await (await fetch('/api/chat-token')).json()) as { token: string }).token);
    await adminPage.goto(`/admin/users?q=${ann.handle}`);
    await screenshot(adminPage, 'admin-users');
    await adminPage.getByRole('button', { name: `Ban @${ann.handle}` }).click();
    await Promise.all([adminPage.waitForURL(/done=banned/), adminPage.click('dialog.confirm button[value=confirm]')]); // the confirmation names the target
    await annPage.locator('#conn-state[data-state=revoked]').waitFor({ timeout: UPDATE_WAIT_MS });
    expect(await annPage.locator('#message-input').isDisabled()).toBe(true);
    await screenshot(annPage, 'room-banned');
    expect(await adminPage.locator(`#users tr[data-handle="${ann.handle}"] .badge.status-banned`).count()).toBe(1);

    // Cannot reconnect: the session is gone, an old chat token is refused on both replicas, login fails generically.
    for (const chat of stack.chats) await expect(TestSocket.open(chat.wsUrl, token)).rejects.toMatchObject({ status: 401 });
    await annPage.goto(roomPath);
    expect(new URL(annPage.url()).pathname).toBe('/login');
    await annPage.fill('#email', ann.email);
    await annPage.fill('#password', ann.password);
    await annPage.click('button[type=submit]');
    await expect.poll(() => annPage.locator('#login-error').textContent()).toBe('Email or password is incorrect.');

    // The audit log shows it, filterable by action.
    await adminPage.goto('/admin/audit?action=user.banned');
    const entry = adminPage.locator('#audit tr[data-action="user.banned"]');
    expect(await entry.count()).toBe(1);
    expect(await entry.textContent()).toContain(ann.handle);
    expect(await entry.locator('.ip').textContent()).toBe('127.0.0.1');
    expect(await adminPage.locator('#audit tbody tr').count()).toBe(1);
    await adminPage.goto('/admin/audit');
    await screenshot(adminPage, 'admin-audit');
  });

  it('revoking a session on the profile page ends the other browser\'s session and its chat socket', async () => {
    const carl = newUser('carl');
    const laptop = await newPage(0);
    const phone = await newPage(1);
    await signUp(laptop, panel(laptop), carl);
    await logIn(phone, panel(phone), carl.email, carl.password);
    await phone.goto(roomPath);
    await waitConnected(phone);

    await laptop.goto('/profile');
    expect(await laptop.locator('#sessions tbody tr').count()).toBe(2);
    await screenshot(laptop, 'profile');
    const other = laptop.locator('#sessions tbody tr:not(.current)');
    await Promise.all([laptop.waitForURL(/done=revoked/), other.getByRole('button', { name: /Revoke session/ }).click()]);
    await phone.locator('#conn-state[data-state=revoked]').waitFor({ timeout: UPDATE_WAIT_MS });
    expect(await laptop.locator('#sessions tbody tr').count()).toBe(1);
    await phone.goto('/profile');
    expect(new URL(phone.url()).pathname).toBe('/login');
    // The laptop is still signed in.
    await laptop.goto('/rooms');
    expect(new URL(laptop.url()).pathname).toBe('/rooms');
  });

  it('private rooms take invitations; direct messages reach the other person', async () => {
    const dan = newUser('dan');
    const eve = newUser('eve');
    const danPage = await newPage(0);
    const evePage = await newPage(1);
    await signUp(danPage, panel(danPage), dan);
    await signUp(evePage, panel(evePage), eve);
    await danPage.goto('/rooms');
    await danPage.fill('#name', 'Secret plans');
    await danPage.check('input[name=kind][value=private]');
    await Promise.all([danPage.waitForURL(/\/rooms\/\d+$/), danPage.click('#create-room button[type=submit]')]);
    const privatePath = new URL(danPage.url()).pathname;
    // Eve cannot see it yet.
    await evePage.goto(privatePath);
    expect(await evePage.locator('h1', { hasText: 'Not found' }).count()).toBe(1);
    // An unknown handle is an error next to the field.
    await danPage.fill('#invite-handle', '@nobody_here');
    await danPage.click('#invite-form button[type=submit]');
    expect(await danPage.locator('#handle-error').textContent()).toContain('Nobody is called @nobody_here');
    await danPage.fill('#invite-handle', `@${eve.handle}`);
    await Promise.all([danPage.waitForURL(/invited=1/), danPage.click('#invite-form button[type=submit]')]);
    expect(await danPage.locator('#members li').count()).toBe(2);
    await screenshot(danPage, 'room-private');
    await evePage.goto('/rooms');
    expect(await evePage.locator('#room-list', { hasText: 'Secret plans' }).count()).toBe(1);
    await evePage.goto(privatePath);
    await waitConnected(evePage);

    // Direct message: Dan opens one with Eve; both are members and chat live.
    await danPage.goto('/rooms');
    await danPage.fill('#dmHandle', eve.handle);
    await Promise.all([danPage.waitForURL(/\/rooms\/\d+$/), danPage.click('#start-dm button[type=submit]')]);
    const dmPath = new URL(danPage.url()).pathname;
    expect(await danPage.locator('h1').textContent()).toContain(`@${eve.handle}`);
    await waitConnected(danPage);
    await danPage.fill('#message-input', 'psst, Eve');
    await danPage.press('#message-input', 'Enter');
    await evePage.goto('/rooms');
    await Promise.all([evePage.waitForURL(dmPath), evePage.locator('#dm-list a', { hasText: `@${dan.handle}` }).click()]);
    await evePage.locator('#messages .body', { hasText: 'psst, Eve' }).waitFor({ timeout: 10_000 });
    const { rows } = await db.pool.query<{ kind: string; direct_key: string | null }>(`SELECT kind, direct_key FROM rooms WHERE kind = 'direct'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.direct_key).toMatch(/^\d+:\d+$/);
  });

  it('dashboard shows online users, connections per replica, health and messages per minute, refreshed live', async () => {
    await adminPage.goto('/admin/dashboard');
    await expect.poll(() => adminPage.locator('#health-postgres').getAttribute('data-ok')).toBe('true');
    expect(await adminPage.locator('#health-redis').getAttribute('data-ok')).toBe('true');
    expect(await adminPage.locator('#health-chat').getAttribute('data-ok')).toBe('true');
    expect(await adminPage.locator('#replicas tr[data-replica]').count()).toBe(2);
    expect(await adminPage.locator('#messages-chart rect.bar').count()).toBe(60);
    const before = Number(await adminPage.locator('#messages-hour').textContent());
    expect(before).toBeGreaterThanOrEqual(3);
    const firstStamp = await adminPage.locator('#dash-updated').getAttribute('data-at');
    // A new message shows up without a reload.
    await bobPage.fill('#message-input', 'one more for the chart');
    await bobPage.press('#message-input', 'Enter');
    await expect.poll(async () => Number(await adminPage.locator('#messages-hour').textContent()), { timeout: 10_000 }).toBe(before + 1);
    expect(await adminPage.locator('#dash-updated').getAttribute('data-at')).not.toBe(firstStamp);
    expect(Number(await adminPage.locator('#online-users').textContent())).toBeGreaterThanOrEqual(1);
    await screenshot(adminPage, 'admin-dashboard');
    await adminPage.goto(`/admin/moderation?room=${roomPath.split('/').pop()}`); // the Lobby (#general sorts first)
    await screenshot(adminPage, 'admin-moderation');
    // Deleting from the moderation page reaches open tabs too.
    const row = adminPage.locator('#mod-messages tr', { hasText: 'one more for the chart' });
    await row.getByRole('button', { name: /^Delete message/ }).click();
    await Promise.all([adminPage.waitForURL(/done=deleted/), adminPage.click('dialog.confirm button[value=confirm]')]);
    await bobPage.locator('#messages li.deleted').nth(1).waitFor({ timeout: UPDATE_WAIT_MS });
    expect(await bobPage.locator('#messages .body', { hasText: 'one more for the chart' }).count()).toBe(0);
    expect(await adminPage.locator('#mod-messages tr.deleted', { hasText: 'one more for the chart' }).count()).toBe(1);
    await adminPage.goto('/admin/rooms');
    await screenshot(adminPage, 'admin-rooms');
    // Narrow screens: one column, nothing wider than the viewport except scrollable tables.
    await adminPage.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [['/admin/users', 'mobile-admin-users'], ['/admin/dashboard', 'mobile-dashboard'], ['/rooms', 'mobile-rooms']] as const) {
      await adminPage.goto(path);
      const overflow = await adminPage.evaluate(() => ({
        width: document.documentElement.scrollWidth,
        culprits: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.table-wrap')).slice(0, 5).map((e) => `${e.tagName}.${e.className}`),
      }));
      expect(overflow.width, `${path}: ${overflow.culprits.join(', ')}`).toBeLessThanOrEqual(390);
      await screenshot(adminPage, name);
    }
  });

  it('keeps passwords, session ids and tokens out of the logs', () => {
    const logs = [stack.admin!, ...stack.extraAdmins.map((a) => a.process), ...stack.chats.map((c) => c.process)].flatMap((p) => p.output).join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of [ADMIN.password, ann.password, bob.password]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/parley_sid=/);
    expect(logs).not.toMatch(/token\.[A-Za-z0-9_-]{20,}/);
  });
});
