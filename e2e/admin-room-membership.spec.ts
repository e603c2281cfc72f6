// Live room membership: an admin removing someone from a private room, or archiving a room, reaches
// open sockets and tabs on every chat replica at once (admin records a control event in the change's
// transaction; every replica applies it from Postgres). Real processes (admin + two chat replicas),
// real Postgres and Redis, and Chromium for the room page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestDatabase, dropRedisPrefix, startStack, testRedisPrefix, TEST_REDIS_URL, type Stack, type TestDatabase } from '@parley/devtools';
import { launchBrowser, logIn, waitConnected } from './support/browser.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const ADMIN = { email: 'membership-admin@example.test', password: 'admin password for tests 2' };
const LIVE_MS = 2_000;

let db: TestDatabase;
let stack: Stack;
let browser: Browser;
const prefix = testRedisPrefix('admin-membership');
const contexts: BrowserContext[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  db = await createTestDatabase('admin_membership');
  stack = await startStack({
    databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix: prefix, chatReplicas: 2,
    // Browsers use replica 1; admin's internal calls go to replica 0.
    browserChatReplica: 1,
    adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const ctx of contexts) await ctx.close().catch(() => undefined);
  await browser?.close();
  await stack?.stop();
  await db?.drop();
  await dropRedisPrefix(prefix);
});

async function joinedSocket(replica: number, panel: PanelClient, roomId: number): Promise<TestSocket> {
  const sock = await TestSocket.open(stack.chats[replica]!.wsUrl, await panel.chatToken());
  sockets.push(sock);
  await sock.next('hello');
  sock.send({ type: 'join', room: roomId });
  await sock.next('caught_up', (f) => f.room === roomId);
  return sock;
}

async function pageFor(user: { email: string; password: string }, url: string): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  const page = await ctx.newPage();
  await logIn(page, stack.adminUrl, user.email, user.password);
  await page.goto(url);
  await waitConnected(page);
  return page;
}

async function userId(handle: string): Promise<number> {
  const { rows } = await db.pool.query<{ id: number }>('SELECT id FROM users WHERE handle = $1', [handle]);
  return rows[0]!.id;
}

describe('live room membership across 2 chat replicas', () => {
  const ownerUser = newUser('owner');
  const memberUser = newUser('member');
  let ownerPanel: PanelClient;
  let memberPanel: PanelClient;
  let adminPanel: PanelClient;
  let roomId = 0;
  let ownerSock: TestSocket;

  it('admin removes a member: their sockets on both replicas and their tab leave the room within 2 s; the rejoin is refused', async () => {
    ownerPanel = new PanelClient(stack.adminUrl);
    await ownerPanel.signUp(ownerUser);
    memberPanel = new PanelClient(stack.adminUrl);
    await memberPanel.signUp(memberUser);
    adminPanel = new PanelClient(stack.adminUrl);
    expect((await adminPanel.logIn(ADMIN.email, ADMIN.password)).status).toBe(303);
    roomId = await ownerPanel.createRoom(`Inner circle ${Date.now()}`, 'private');
    const invited = await ownerPanel.postForm(`/rooms/${roomId}/invite`, { handle: memberUser.handle }, `/rooms/${roomId}`);
    expect(invited.status).toBe(303);
    const memberId = await userId(memberUser.handle);

    // The member: a socket on each replica and a browser tab (replica 1). The owner: replica 1 too, so
    // that replica demonstrably keeps delivering the room to the people who still belong to it.
    const memberOther = await joinedSocket(1, memberPanel, roomId);
    const memberLocal = await joinedSocket(0, memberPanel, roomId);
    ownerSock = await joinedSocket(1, ownerPanel, roomId);
    const memberPage = await pageFor(memberUser, `${stack.adminUrl}/rooms/${roomId}`);
    memberOther.clear();
    memberLocal.clear();

    const started = Date.now();
    const res = await adminPanel.postForm(`/admin/rooms/${roomId}/members/${memberId}/remove`, {}, `/admin/rooms/${roomId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/rooms/${roomId}?done=removed`);
    for (const sock of [memberOther, memberLocal]) {
      expect(await sock.next('left', (f) => f.room === roomId, LIVE_MS)).toEqual({ type: 'left', room: roomId, reason: 'removed' });
    }
    expect(Date.now() - started).toBeLessThan(LIVE_MS);
    await memberPage.locator('#conn-state[data-state=removed]').waitFor({ timeout: LIVE_MS });
    expect(await memberPage.locator('#message-input').isDisabled()).toBe(true);
    expect(await memberPage.locator('#moderation-notice').textContent()).toContain('removed from this room');

    // The room goes on without them: the owner's message reaches replica 1, but not the member's sockets.
    ownerSock.send({ type: 'send', room: roomId, clientId: 'after-removal', body: 'not for the removed member' });
    await ownerSock.next('message', (f) => f.room === roomId && f.message.clientId === 'after-removal');
    await new Promise((r) => setTimeout(r, 300));
    for (const sock of [memberOther, memberLocal]) {
      expect(sock.all('message').filter((f) => f.room === roomId)).toEqual([]);
      // A send is refused (no longer joined), and so is the rejoin (no longer a member).
      sock.send({ type: 'send', room: roomId, clientId: `late-${sock === memberOther ? 1 : 0}`, body: 'hello?' });
      expect((await sock.next('error', (f) => f.ref?.startsWith('late-') === true)).code).toBe('not_joined');
      sock.send({ type: 'join', room: roomId });
      const refused = await sock.next('error', (f) => f.room === roomId && f.code === 'not_found');
      expect(refused.code).toBe('not_found');
      expect(sock.all('joined')).toEqual([]);
    }
    expect(await memberPage.locator('#messages .body', { hasText: 'not for the removed member' }).count()).toBe(0);

    // The admin's removal is audited, and recorded once as a control event for chat.
    const { rows } = await db.pool.query<{ details: unknown }>(`SELECT details FROM audit_log WHERE action = 'room.member_removed' AND target_id = $1`, [String(roomId)]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.details).toMatchObject({ userId: memberId });
    const events = await db.pool.query(`SELECT user_id FROM control_events WHERE kind = 'member_removed' AND room_id = $1`, [roomId]);
    expect(events.rows).toEqual([{ user_id: memberId }]);
  });

  it('removing someone who is no longer a member changes nothing: no event, nobody is told', async () => {
    const memberId = await userId(memberUser.handle);
    const before = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM control_events');
    ownerSock.clear();
    const res = await adminPanel.postForm(`/admin/rooms/${roomId}/members/${memberId}/remove`, {}, `/admin/rooms/${roomId}`);
    expect(res.status).toBe(404);
    expect((await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM control_events')).rows[0]!.n).toBe(before.rows[0]!.n);
    // A sentinel: the owner's own message comes back, and no `left` arrived before it.
    ownerSock.send({ type: 'send', room: roomId, clientId: 'sentinel-after-noop', body: 'still here' });
    await ownerSock.next('message', (f) => f.room === roomId && f.message.clientId === 'sentinel-after-noop');
    expect(ownerSock.all('left')).toEqual([]);
  });

  it('admin archives the room: open sockets and tabs are told within 2 s and sends are refused; unarchive reopens', async () => {
    const ownerPage = await pageFor(ownerUser, `${stack.adminUrl}/rooms/${roomId}`);
    expect(await ownerPage.locator('#message-input').isDisabled()).toBe(false);
    const ownerLocal = await joinedSocket(0, ownerPanel, roomId);
    ownerSock.send({ type: 'send', room: roomId, clientId: 'to-edit-later', body: 'before the archive' });
    const toEdit = await ownerSock.next('ack', (f) => f.clientId === 'to-edit-later');

    const started = Date.now();
    const res = await adminPanel.postForm(`/admin/rooms/${roomId}/archive`, { archived: '1' }, '/admin/rooms');
    expect(res.headers.get('location')).toBe('/admin/rooms?done=archived');
    for (const sock of [ownerSock, ownerLocal]) {
      expect(await sock.next('archived', (f) => f.room === roomId && f.archived, LIVE_MS)).toEqual({ type: 'archived', room: roomId, archived: true });
    }
    await ownerPage.locator('#moderation-notice:not([hidden])', { hasText: 'archived' }).waitFor({ timeout: LIVE_MS });
    expect(Date.now() - started).toBeLessThan(LIVE_MS + 500);
    expect(await ownerPage.locator('#message-input').isDisabled()).toBe(true);
    expect(await ownerPage.locator('#message-input').getAttribute('placeholder')).toBe('This room is archived');
    ownerSock.send({ type: 'send', room: roomId, clientId: 'while-archived', body: 'anyone?' });
    expect((await ownerSock.next('error', (f) => f.ref === 'while-archived')).code).toBe('archived');
    // Edits and deletes are refused too: an archived room is read-only.
    ownerSock.send({ type: 'edit', room: roomId, seq: toEdit.seq, body: 'rewritten after the archive' });
    expect((await ownerSock.next('error', (f) => f.ref === undefined && f.room === roomId)).code).toBe('archived');
    ownerSock.clear();
    ownerSock.send({ type: 'delete', room: roomId, seq: toEdit.seq });
    expect((await ownerSock.next('error', (f) => f.ref === undefined && f.room === roomId)).code).toBe('archived');

    ownerSock.clear();
    const reopened = await adminPanel.postForm(`/admin/rooms/${roomId}/archive`, { archived: '0' }, '/admin/rooms');
    expect(reopened.headers.get('location')).toBe('/admin/rooms?done=unarchived');
    expect(await ownerSock.next('archived', (f) => f.room === roomId, LIVE_MS)).toEqual({ type: 'archived', room: roomId, archived: false });
    await expect.poll(() => ownerPage.locator('#message-input').isDisabled(), { timeout: LIVE_MS }).toBe(false);
    await ownerPage.fill('#message-input', 'open again');
    await ownerPage.press('#message-input', 'Enter');
    await ownerSock.next('message', (f) => f.room === roomId && f.message.body === 'open again');
  });
});
