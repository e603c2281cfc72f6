// The browser client in Chromium across a chat restart: the page shows the connection state, keeps a
// message typed while disconnected, reconnects with backoff, resumes from its last seq and resends, and
// every message ends up in the DOM exactly once, in seq order.
import { describe, expect } from 'vitest';
import { waitForPortFree } from '@parley/devtools';
import { signUp } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser } from './support/http.ts';

const test = e2eTest({ label: 'chat_browser', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });
// Start them in a hook (hook timeout) rather than inside the first test's time.
test.beforeAll(({ stack, browser }) => void [stack, browser]);

describe('browser chat client across a chat restart', () => {
  test('shows the state, resumes, resends what was typed offline, and shows every message once in order', async ({ db, stack, browser }) => {
    const annCtx = await browser.newContext();
    const bobCtx = await browser.newContext();
    const ann = await annCtx.newPage();
    const bob = await bobCtx.newPage();
    await signUp(ann, stack.adminUrl, newUser('ann'));
    await signUp(bob, stack.adminUrl, newUser('bob'));
    await ann.goto(`${stack.adminUrl}/rooms`);
    await ann.fill('#name', `Restart ${Date.now()}`);
    await Promise.all([ann.waitForURL(/\/rooms\/\d+$/), ann.click('form[action="/rooms"] button[type=submit]')]);
    await bob.goto(ann.url());
    for (const p of [ann, bob]) await p.locator('#conn-state[data-state=open]').waitFor();

    const say = async (page: typeof ann, text: string) => {
      await page.fill('#message-input', text);
      await page.press('#message-input', 'Enter');
    };
    await say(ann, 'before the restart');
    await bob.locator('#messages li[data-seq] .body', { hasText: 'before the restart' }).waitFor();

    // The chat replica goes away (a deploy): both pages say so.
    const chat = stack.chats[0]!;
    await chat.process.stop('SIGTERM');
    for (const p of [ann, bob]) await p.locator('#conn-state[data-state=reconnecting]').waitFor({ timeout: 10_000 });
    await say(ann, 'typed while offline');
    await ann.locator('#messages li.pending .body', { hasText: 'typed while offline' }).waitFor();

    await waitForPortFree(chat.port);
    await stack.startChat(0);
    for (const p of [ann, bob]) await p.locator('#conn-state[data-state=open]').waitFor({ timeout: 30_000 });
    await bob.locator('#messages li[data-seq] .body', { hasText: 'typed while offline' }).waitFor({ timeout: 10_000 });
    await say(bob, 'after the restart');
    await ann.locator('#messages li[data-seq] .body', { hasText: 'after the restart' }).waitFor({ timeout: 10_000 });

    const { rows } = await db.pool.query<{ seq: number; body: string }>('SELECT seq, body FROM messages ORDER BY seq');
    expect(rows.map((r) => r.body)).toEqual(['before the restart', 'typed while offline', 'after the restart']);
    for (const p of [ann, bob]) {
      expect(await p.locator('#messages li[data-seq]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)))).toEqual(rows.map((r) => r.seq));
      expect(await p.locator('#messages li.pending').count()).toBe(0);
    }
    expect(await ann.evaluate(() => (window as unknown as { parleyChat: { gapsRepaired: number; pendingCount(): number } }).parleyChat.pendingCount())).toBe(0);
    await annCtx.close();
    await bobCtx.close();
  });
});
