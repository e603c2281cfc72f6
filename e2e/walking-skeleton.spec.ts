// The whole system on real parts: admin + chat processes, real Postgres, real Redis, and two people in
// two Chromium contexts chatting live.
import { describe, expect } from 'vitest';
import { TEST_REDIS_URL } from '@parley/devtools';
import { screenshot, signUp } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const test = e2eTest({ label: 'skeleton' });
// Start them in a hook (hook timeout) rather than inside the first test's time.
test.beforeAll(({ stack, browser }) => void [stack, browser]);

describe('walking skeleton', () => {
  test('two people in two browsers see each other\'s messages live', async ({ db, stack, browser }) => {
    const ann = newUser('ann');
    const bob = newUser('bob');
    const annCtx = await browser.newContext();
    const bobCtx = await browser.newContext();
    const annPage = await annCtx.newPage();
    const bobPage = await bobCtx.newPage();
    await signUp(annPage, stack.adminUrl, ann);
    await signUp(bobPage, stack.adminUrl, bob);

    await annPage.goto(`${stack.adminUrl}/rooms`);
    await annPage.fill('#name', 'Skeleton');
    await Promise.all([annPage.waitForURL(/\/rooms\/\d+$/), annPage.click('form[action="/rooms"] button[type=submit]')]);
    const roomUrl = annPage.url();
    await bobPage.goto(roomUrl);
    await annPage.locator('#conn-state[data-state=open]').waitFor();
    await bobPage.locator('#conn-state[data-state=open]').waitFor();

    await annPage.fill('#message-input', 'Hello Bob, from Ann');
    await annPage.press('#message-input', 'Enter');
    // Bob's page must show it without a reload: wait on the live DOM.
    await bobPage.locator('#messages li[data-seq] .body', { hasText: 'Hello Bob, from Ann' }).waitFor({ timeout: 10_000 });

    await bobPage.fill('#message-input', 'Hi Ann! <b>not bold</b>');
    await bobPage.click('#composer button[type=submit]');
    const annSees = annPage.locator('#messages li[data-seq] .body', { hasText: 'Hi Ann! <b>not bold</b>' });
    await annSees.waitFor({ timeout: 10_000 });
    expect(await annSees.innerHTML()).toBe('Hi Ann! &lt;b&gt;not bold&lt;/b&gt;');

    // Presence shows both people in both tabs.
    await expect.poll(() => annPage.locator('#presence li').count()).toBe(2);
    await screenshot(annPage, 'room-live-chat');

    // The history is in Postgres: a reload shows both messages in order.
    await bobPage.reload();
    await bobPage.locator('#conn-state[data-state=open]').waitFor();
    const bodies = await bobPage.locator('#messages li[data-seq] .body').allTextContents();
    expect(bodies).toEqual(['Hello Bob, from Ann', 'Hi Ann! <b>not bold</b>']);
    const { rows } = await db.pool.query('SELECT seq, body FROM messages ORDER BY seq');
    expect(rows).toEqual([{ seq: 1, body: 'Hello Bob, from Ann' }, { seq: 2, body: 'Hi Ann! <b>not bold</b>' }]);
    await annCtx.close();
    await bobCtx.close();
  });

  test('refuses an unauthenticated upgrade (401), a bad token (401) and a foreign Origin (403)', async ({ stack }) => {
    const chat = stack.chats[0]!;
    await expect(TestSocket.open(chat.wsUrl, null)).rejects.toMatchObject({ status: 401 });
    await expect(TestSocket.open(chat.wsUrl, 'forged.token')).rejects.toMatchObject({ status: 401 });
    const panel = new PanelClient(stack.adminUrl);
    await panel.signUp(newUser('eve'));
    const token = await panel.chatToken();
    await expect(TestSocket.open(chat.wsUrl, token, { origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    const ok = await TestSocket.open(chat.wsUrl, token, { origin: `http://localhost:${stack.adminPort}` });
    expect((await ok.next('hello')).protocol).toBe(1);
    ok.close();
  });

  test('stores a message before anyone receives it, and sessions live in Redis', async ({ db, stack, redisPrefix: prefix }) => {
    const panel = new PanelClient(stack.adminUrl);
    await panel.signUp(newUser('carl'));
    const roomId = await panel.createRoom(`room-${Date.now()}`);
    const sock = await TestSocket.open(stack.chats[0]!.wsUrl, await panel.chatToken());
    sock.send({ type: 'join', room: roomId });
    await sock.next('caught_up');
    sock.send({ type: 'send', room: roomId, clientId: 'c1', body: 'persisted first' });
    const message = await sock.next('message');
    const { rows } = await db.pool.query<{ body: string }>('SELECT body FROM messages WHERE room_id = $1 AND seq = $2', [roomId, message.message.seq]);
    expect(rows[0]?.body).toBe('persisted first');
    sock.close();
    const { Redis } = await import('ioredis');
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}sess:*`);
    redis.disconnect();
    expect(keys.length).toBeGreaterThan(0);
  });
});
