// Live room membership: an admin removing someone from a private room, or archiving a room, reaches
// open sockets and tabs on every chat replica at once (admin records a control event in the change's
// transaction; every replica applies it from Postgres). Real processes (admin + two chat replicas),
// real Postgres and Redis, and Chromium for the room page.
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Stack, TestDatabase } from '@parley/devtools';
import { createChatRoom } from '../packages/devtools/src/chat-fixtures.ts';
import { addMember } from './support/admin-actions.ts';
import { logIn, waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';
import { framesBefore, SENTINEL_WAIT_MS } from './support/ordering.ts';
import type { SocketJar } from './support/sockets.ts';
import { TestSocket } from './support/ws-client.ts';

const ADMIN = { email: 'membership-admin@example.test', password: 'admin password for tests 2' };

const test = e2eTest({
  label: 'admin_membership',
  stack: {
    chatReplicas: 2,
    // Browsers use replica 1; admin's internal calls go to replica 0.
    browserChatReplica: 1,
    adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password },
  },
});
let db: TestDatabase;
let stack: Stack;
let browser: Browser;
let sockets: SocketJar;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, browser: b, sockets: j }) => void ([db, stack, browser, sockets] = [d, s, b, j]));

/**
 * A later control event for `userId` (added to a fresh room): every replica applies control events in
 * commit order, so each of the user's sockets must have had the earlier event before this one arrives.
 */
async function controlSentinel(userId: number): Promise<number> {
  const room = await createChatRoom(db.pool, { kind: 'private' });
  await addMember(db.pool, room, userId);
  return room;
}

async function joinedSocket(replica: number, panel: PanelClient, roomId: number): Promise<TestSocket> {
  const sock = await TestSocket.open(stack.chats[replica]!.wsUrl, await panel.chatToken());
  sockets.keep(sock);
  await sock.next('hello');
  sock.send({ type: 'join', room: roomId });
  await sock.next('caught_up', (f) => f.room === roomId);
  return sock;
}

async function pageFor(user: { email: string; password: string }, url: string): Promise<Page> {
  const ctx = await browser.newContext();
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

  it('admin removes a member: their sockets on both replicas leave the room before any later control event, and their tab; the rejoin is refused', async () => {
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
    // A public room that owner and member share after the removal: the owner's messages there are the
    // sentinels that show what did not reach the member.
    const lobby = await ownerPanel.createRoom(`Lobby ${Date.now()}`, 'public');

    // The member: a socket on each replica and a browser tab (replica 1). The owner: replica 1 too, so
    // that replica demonstrably keeps delivering the room to the people who still belong to it.
    const memberOther = await joinedSocket(1, memberPanel, roomId);
    const memberLocal = await joinedSocket(0, memberPanel, roomId);
    ownerSock = await joinedSocket(1, ownerPanel, roomId);
    const memberPage = await pageFor(memberUser, `${stack.adminUrl}/rooms/${roomId}`);
    for (const sock of [memberOther, memberLocal, ownerSock]) {
      sock.send({ type: 'join', room: lobby });
      await sock.next('caught_up', (f) => f.room === lobby);
    }
    memberOther.clear();
    memberLocal.clear();

    const res = await adminPanel.postForm(`/admin/rooms/${roomId}/members/${memberId}/remove`, {}, `/admin/rooms/${roomId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/rooms/${roomId}?done=removed`);
    const sentinelRoom = await controlSentinel(memberId);
    for (const sock of [memberOther, memberLocal]) {
      const before = await framesBefore(sock, 'conversation', (f) => f.room === sentinelRoom && f.change === 'added');
      expect(before).toContainEqual({ type: 'left', room: roomId, reason: 'removed' });
    }
    await memberPage.locator('#conn-state[data-state=removed]').waitFor({ timeout: SENTINEL_WAIT_MS });
    expect(await memberPage.locator('#message-input').isDisabled()).toBe(true);
    expect(await memberPage.locator('#moderation-notice').textContent()).toContain('removed from this room');

    // The room goes on without them: the owner's message reaches replica 1, but not the member's sockets.
    // The owner's next message (in the lobby, same socket, so published after it) reaches the member's
    // sockets; the room's message would have come before it.
    ownerSock.send({ type: 'send', room: roomId, clientId: 'after-removal', body: 'not for the removed member' });
    await ownerSock.next('message', (f) => f.room === roomId && f.message.clientId === 'after-removal');
    ownerSock.send({ type: 'send', room: lobby, clientId: 'lobby-sentinel', body: 'for everyone in the lobby' });
    for (const sock of [memberOther, memberLocal]) {
      const before = await framesBefore(sock, 'message', (f) => f.room === lobby && f.message.clientId === 'lobby-sentinel');
      expect(before.filter((f) => f.type === 'message')).toEqual([]);
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

  it('admin archives the room: open sockets are told before any later control event, tabs too, and sends are refused; unarchive reopens', async () => {
    const ownerPage = await pageFor(ownerUser, `${stack.adminUrl}/rooms/${roomId}`);
    expect(await ownerPage.locator('#message-input').isDisabled()).toBe(false);
    const ownerLocal = await joinedSocket(0, ownerPanel, roomId);
    ownerSock.send({ type: 'send', room: roomId, clientId: 'to-edit-later', body: 'before the archive' });
    const toEdit = await ownerSock.next('ack', (f) => f.clientId === 'to-edit-later');

    const ownerId = await userId(ownerUser.handle);
    const res = await adminPanel.postForm(`/admin/rooms/${roomId}/archive`, { archived: '1' }, '/admin/rooms');
    expect(res.headers.get('location')).toBe('/admin/rooms?done=archived');
    const sentinelRoom = await controlSentinel(ownerId);
    for (const sock of [ownerSock, ownerLocal]) {
      const before = await framesBefore(sock, 'conversation', (f) => f.room === sentinelRoom && f.change === 'added');
      expect(before).toContainEqual({ type: 'archived', room: roomId, archived: true });
    }
    await ownerPage.locator('#moderation-notice:not([hidden])', { hasText: 'archived' }).waitFor({ timeout: SENTINEL_WAIT_MS });
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
    const reopenedSentinel = await controlSentinel(ownerId);
    const beforeReopened = await framesBefore(ownerSock, 'conversation', (f) => f.room === reopenedSentinel && f.change === 'added');
    expect(beforeReopened).toContainEqual({ type: 'archived', room: roomId, archived: false });
    await expect.poll(() => ownerPage.locator('#message-input').isDisabled(), { timeout: SENTINEL_WAIT_MS }).toBe(false);
    await ownerPage.fill('#message-input', 'open again');
    await ownerPage.press('#message-input', 'Enter');
    await ownerSock.next('message', (f) => f.room === roomId && f.message.body === 'open again');
  });
});
