// The web client's presence in a big room (issue 13): with more than 100 people online the server sends
// only the count, so the details pane loads the first page of names when it opens and the next one on
// "Show more"; the count stays live. Real admin + chat processes, Postgres, Redis and Chromium; the
// crowd is raw sockets of real users.
import { describe, expect } from 'vitest';
import { chatTokenFor, createChatUser } from '../packages/devtools/src/chat-fixtures.ts';
import { signUp, waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const test = e2eTest({ label: 'ui_presence', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });
test.beforeAll(({ stack, browser }) => void [stack, browser]);

/** More than PRESENCE_LIST_MAX (100) online: a big room. */
const CROWD = 130;

describe('web client: presence in a big room', () => {
  test('shows the count, loads who is online when the details pane opens, pages on "Show more", and keeps the count live', { timeout: 120_000 }, async ({ db, stack, browser }) => {
    const ann = newUser('ann');
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const sockets: TestSocket[] = [];
    try {
      await signUp(page, stack.adminUrl, ann);
      await page.goto(`${stack.adminUrl}/rooms`);
      await page.fill('#name', `Crowd ${Date.now()}`);
      await Promise.all([page.waitForURL(/\/rooms\/\d+$/), page.click('form[action="/rooms"] button[type=submit]')]);
      const room = Number(/\/rooms\/(\d+)$/.exec(page.url())![1]);
      await waitConnected(page);
      // The pane is open by default on a wide screen: close it while the crowd arrives (an open pane
      // fetches the names the moment the room becomes big, while people are still arriving).
      const toggle = page.locator('.details-toggle');
      if ((await toggle.getAttribute('aria-expanded')) === 'true') await toggle.click();
      await expect.poll(() => toggle.getAttribute('aria-expanded')).toBe('false');

      // The crowd joins the (public) room over raw sockets.
      const users = await Promise.all(Array.from({ length: CROWD }, (_, i) => createChatUser(db.pool, `crowd${i}`)));
      for (const user of users) {
        const s = await TestSocket.open(stack.chats[0]!.wsUrl, chatTokenFor(user, stack.secrets.CHAT_TOKEN_SECRET));
        sockets.push(s);
        s.send({ type: 'join', room, presence: 'diff' });
      }
      await Promise.all(sockets.map((s) => s.next('caught_up')));
      // The count reaches Ann (its push follows the joins by up to a push period); pages of a list that
      // is still growing would each show a different moment, so the names are fetched after that.
      await expect.poll(() => page.locator('#online-count').textContent(), { timeout: 20_000 }).toBe(String(CROWD + 1));

      await toggle.click();
      const more = page.locator('#presence li.more');
      // Ann and the crowd: the pane fetched the first page (100 names) and says how many more there are.
      await expect.poll(() => page.locator('#presence li:not(.more)').count(), { timeout: 20_000 }).toBe(100);
      await expect.poll(() => more.textContent(), { timeout: 20_000 }).toContain(`and ${CROWD + 1 - 100} more`);
      await more.locator('button', { hasText: 'Show more' }).click();
      await expect.poll(() => page.locator('#presence li:not(.more)').count(), { timeout: 20_000 }).toBe(CROWD + 1);
      await expect(more.count()).resolves.toBe(0);

      // The count stays live without a list (the names are those fetched): ten leave.
      expect(await page.locator('#online-count').textContent()).toBe(String(CROWD + 1));
      for (const s of sockets.splice(0, 10)) s.close();
      await expect.poll(() => page.locator('#online-count').textContent(), { timeout: 20_000 }).toBe(String(CROWD + 1 - 10));
      // Reopened later, the pane fetches the names again.
      await page.reload();
      await waitConnected(page);
      if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
      await expect.poll(() => more.textContent(), { timeout: 20_000 }).toContain(`and ${CROWD + 1 - 10 - 100} more`);
    } finally {
      for (const s of sockets) s.close();
      await ctx.close();
    }
  });
});
