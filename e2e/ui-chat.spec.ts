// The web client (issue 9) in Chromium against real processes (admin + chat, real Postgres and Redis):
// two people in two browser contexts. Sidebar badges live and after reload, read state across devices,
// the composer's data-loss fixes, failed sends, offline detection, notifications and the title badge,
// 500 messages of history, keyboard order and the mobile layout.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Stack, TestDatabase } from '@parley/devtools';
import { createRoom, logIn, say, signUp, waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import type { PageJar } from './support/pages.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const test = e2eTest({ label: 'ui_chat', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });
let db: TestDatabase;
let stack: Stack;
let pages: PageJar;

const ann = newUser('ann');
const bob = newUser('bob');
let annPage: Page;
let bobPage: Page;
let lobby = 0; // both are in it; Ann looks at it while Bob writes elsewhere
let news = 0; // where Bob writes

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, pages: p }) => void ([db, stack, pages] = [d, s, p]));

const newPage = (opts: Parameters<PageJar['open']>[0] = {}): Promise<Page> => pages.open(opts);

const sidebarItem = (page: Page, roomId: number) => page.locator(`#sidebar a.conv[data-room-id="${roomId}"]`);
const unreadBadge = (page: Page, roomId: number) => sidebarItem(page, roomId).locator('.badge-unread');
const mentionBadge = (page: Page, roomId: number) => sidebarItem(page, roomId).locator('.badge-mention');

describe('web client (issue 9)', () => {
  it('one page, one socket: the sidebar lists the conversations and switches without a page load; /rooms/:id and /chat/:id both work', async () => {
    annPage = await newPage();
    bobPage = await newPage();
    await signUp(annPage, stack.adminUrl, ann);
    await signUp(bobPage, stack.adminUrl, bob);
    lobby = await createRoom(bobPage, `Lobby ${Date.now()}`);
    news = await createRoom(bobPage, `News ${Date.now()}`);
    await annPage.goto(`/rooms/${news}`); // joins the public room
    await waitConnected(annPage);
    await annPage.goto(`/chat/${lobby}`);
    await waitConnected(annPage);
    expect(await sidebarItem(annPage, lobby).getAttribute('aria-current')).toBe('page');
    await expect.poll(() => annPage.locator('#sidebar a.conv').count()).toBe(3); // #general (everyone is in it) and these two
    // Switching is client-side: a marker on window survives.
    await annPage.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await sidebarItem(annPage, news).click();
    await annPage.waitForURL(`**/chat/${news}`);
    await expect.poll(() => annPage.locator('#conversation-title').textContent()).toContain('News');
    expect(await annPage.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    // Focus order is composer-first, and message actions are not Tab stops.
    expect(await annPage.evaluate(() => document.activeElement?.id)).toBe('message-input');
    await sidebarItem(annPage, lobby).click();
    await waitConnected(annPage);
    await bobPage.goto(`/chat/${lobby}`);
    await waitConnected(bobPage);
  });

  it('unread and mention badges appear live in the other person\'s sidebar, bold, and survive a reload', async () => {
    // Ann is looking at the lobby; Bob writes in News, once mentioning her.
    await bobPage.goto(`/chat/${news}`);
    await waitConnected(bobPage);
    await say(bobPage, 'first news');
    await say(bobPage, `hey @${ann.handle}, look at this`);
    await say(bobPage, 'third news');
    await expect.poll(() => unreadBadge(annPage, news).textContent(), { timeout: 10_000 }).toBe('3, 3 unread');
    expect(await mentionBadge(annPage, news).textContent()).toBe('@1, 1 mention');
    expect(await sidebarItem(annPage, news).getAttribute('class')).toContain('unread');
    expect(await unreadBadge(annPage, lobby).count()).toBe(0);

    await annPage.reload();
    await waitConnected(annPage);
    expect(await unreadBadge(annPage, news).textContent()).toBe('3, 3 unread');
    expect(await mentionBadge(annPage, news).textContent()).toBe('@1, 1 mention');
  });

  it('opening the conversation clears the badges, shows "New messages" at the first unread one and highlights the mention', async () => {
    await sidebarItem(annPage, news).click();
    await waitConnected(annPage);
    await annPage.locator('#messages .new-divider').waitFor();
    const afterDivider = await annPage.locator('#messages .new-divider + li[data-seq] .body').textContent();
    expect(afterDivider).toBe('first news');
    await annPage.locator('#messages li.mentions-me .mention.mention-me').waitFor();
    await expect.poll(() => unreadBadge(annPage, news).count()).toBe(0);
    expect(await mentionBadge(annPage, news).count()).toBe(0);
  });

  it('the read pointer is stored on the server: still read after a reload and on a second device, synced live between tabs', async () => {
    await annPage.reload();
    await waitConnected(annPage);
    const second = await newPage();
    await logIn(second, stack.adminUrl, ann.email, ann.password);
    await second.goto(`/chat/${lobby}`);
    await waitConnected(second);
    for (const page of [annPage, second]) {
      await expect.poll(() => unreadBadge(page, news).count(), { timeout: 5_000 }).toBe(0);
      expect(await mentionBadge(page, news).count()).toBe(0);
    }
    const { rows } = await db.pool.query<{ last_read_seq: number }>(
      `SELECT m.last_read_seq FROM room_members m JOIN users u ON u.id = m.user_id WHERE u.handle = $1 AND m.room_id = $2`, [ann.handle, news]);
    expect(Number(rows[0]?.last_read_seq)).toBe(3);
    // And a read in one tab clears the badge in the other, live.
    await sidebarItem(annPage, lobby).click();
    await say(bobPage, 'one more');
    await expect.poll(() => unreadBadge(second, news).textContent(), { timeout: 10_000 }).toBe('1, 1 unread');
    await sidebarItem(annPage, news).click();
    await expect.poll(() => unreadBadge(second, news).count(), { timeout: 5_000 }).toBe(0);
    await second.context().close();
  });

  it('refuses the 6,000-byte message before sending and keeps the text; never truncates a long paste', async () => {
    await annPage.goto(`/chat/${lobby}`);
    await waitConnected(annPage);
    await bobPage.goto(`/chat/${lobby}`);
    await waitConnected(bobPage);
    const big = 'é'.repeat(3000);
    await annPage.fill('#message-input', big);
    await annPage.locator('#composer-count.over', { hasText: '6,000 / 4,096 bytes' }).waitFor();
    await annPage.press('#message-input', 'Enter');
    await annPage.locator('#composer-error', { hasText: 'the limit is 4,096' }).waitFor();
    expect(await annPage.inputValue('#message-input')).toBe(big);
    expect(await annPage.getAttribute('#message-input', 'aria-invalid')).toBe('true');
    expect(await annPage.locator('#messages li.pending').count()).toBe(0);
    const long = 'x'.repeat(10_000);
    await annPage.fill('#message-input', long);
    expect((await annPage.inputValue('#message-input')).length).toBe(10_000);
    await annPage.fill('#message-input', '');
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE room_id = $1`, [lobby]);
    expect(rows[0]?.n).toBe(0);
  });

  it('a send the server refuses stays on screen, in order, with Retry, Edit and Discard', async () => {
    // The server refuses bodies with NUL (bad_frame): a final error.
    await annPage.evaluate(() => {
      const store = (window as unknown as { parleyStore: { send(room: number, body: string): string; currentId: number } }).parleyStore;
      store.send(store.currentId, 'first broken \u0000');
      store.send(store.currentId, 'second broken \u0000');
    });
    const failed = annPage.locator('#messages li.pending.failed');
    await expect.poll(() => failed.count(), { timeout: 10_000 }).toBe(2);
    expect(await failed.locator('.body').allTextContents()).toEqual(['first broken \u0000', 'second broken \u0000']);
    await failed.first().getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => failed.count()).toBe(2); // refused again, still there
    await failed.first().getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => failed.count()).toBe(1);
    await failed.first().getByRole('button', { name: 'Edit' }).click();
    expect(await failed.count()).toBe(0);
    expect(await annPage.inputValue('#message-input')).toBe('second broken \u0000');
    await annPage.fill('#message-input', '');
  });

  it('Enter sends, Shift+Enter adds a line, Up edits the last message, drafts survive a reload', async () => {
    await annPage.fill('#message-input', 'line one');
    await annPage.press('#message-input', 'Shift+Enter');
    await annPage.keyboard.type('line two');
    await annPage.press('#message-input', 'Enter');
    const mine = annPage.locator('#messages li[data-seq].mine').last();
    await mine.waitFor();
    expect(await mine.locator('.body').innerHTML()).toBe('line one<br>\nline two');
    await annPage.press('#message-input', 'ArrowUp');
    const editor = mine.locator('.edit-form textarea');
    await editor.waitFor();
    await editor.fill('line one, edited');
    await editor.press('Enter');
    await bobPage.locator('#messages li[data-seq] .body', { hasText: 'line one, edited' }).waitFor({ timeout: 10_000 });
    await bobPage.locator('#messages li[data-seq] .edited').waitFor();

    await annPage.fill('#message-input', 'a draft for the lobby');
    // Drafts are saved a moment after the last keystroke: reload once it is stored, not after a guess.
    await expect.poll(() => annPage.evaluate(() => Object.values(localStorage).includes('a draft for the lobby'))).toBe(true);
    await annPage.reload();
    await waitConnected(annPage);
    expect(await annPage.inputValue('#message-input')).toBe('a draft for the lobby');
    await annPage.fill('#message-input', '');
  });

  it('message actions are one keyboard stop (roving focus), not a Tab stop each', async () => {
    for (let i = 0; i < 3; i++) await say(annPage, `tab order ${i}`);
    await annPage.locator('#messages li[data-seq] .body', { hasText: 'tab order 2' }).waitFor();
    const tabbable = await annPage.locator('#messages [tabindex="0"], #messages button:not([tabindex="-1"]), #messages a[href]').count();
    expect(tabbable).toBe(1);
    await annPage.focus('#messages li[data-seq][tabindex="0"]');
    await annPage.keyboard.press('ArrowUp');
    expect(await annPage.evaluate(() => document.activeElement?.querySelector('.body')?.textContent)).toBe('tab order 1');
    await annPage.keyboard.press('Enter');
    expect(await annPage.evaluate(() => document.activeElement?.outerHTML.slice(0, 200))).toContain('aria-label="Edit your message"');
    await annPage.keyboard.press('Escape');
    await annPage.keyboard.press('Escape');
    expect(await annPage.evaluate(() => document.activeElement?.id)).toBe('message-input');
  });

  it('notices a dropped network within 5 s, shows the queued sends, and delivers them when back', async () => {
    await annPage.context().setOffline(true);
    await annPage.locator('#conn-state[data-state=reconnecting]').waitFor({ timeout: 5_000 });
    await say(annPage, 'written offline');
    await annPage.locator('#conn-banner', { hasText: '1 message will be sent' }).waitFor();
    await annPage.context().setOffline(false);
    await waitConnected(annPage, 20_000);
    await bobPage.locator('#messages li[data-seq] .body', { hasText: 'written offline' }).waitFor({ timeout: 10_000 });
    expect(await annPage.locator('#conn-banner').count()).toBe(0);
  });

  it('shows a browser notification and a "(1) Parley" title for a DM while the tab is hidden', async () => {
    const ctx = await pages.context();
    await ctx.grantPermissions(['notifications']);
    // Record notifications (headless Chromium shows none) and let the test hide the tab.
    await ctx.addInitScript(() => {
      const shown: Array<{ title: string; body?: string }> = [];
      (window as unknown as { shown: typeof shown }).shown = shown;
      class Recorder {
        static permission = 'granted';
        static requestPermission = async () => 'granted';
        onclick: (() => void) | null = null;
        constructor(title: string, opts?: { body?: string }) {
          shown.push({ title, body: opts?.body });
        }
        close() {}
      }
      (window as unknown as { Notification: unknown }).Notification = Recorder;
      let hidden = false;
      Object.defineProperty(document, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
      (window as unknown as { setHidden: (h: boolean) => void }).setHidden = (h) => {
        hidden = h;
        document.dispatchEvent(new Event('visibilitychange'));
      };
    });
    const page = await ctx.newPage();
    await logIn(page, stack.adminUrl, ann.email, ann.password);
    await page.goto(`/chat/${lobby}`);
    await waitConnected(page);
    await page.evaluate(() => (window as unknown as { setHidden: (h: boolean) => void }).setHidden(true));

    await bobPage.goto('/rooms');
    await bobPage.fill('#dmHandle', ann.handle);
    await Promise.all([bobPage.waitForURL(/\/rooms\/\d+$/), bobPage.click('#start-dm button[type=submit]')]);
    await waitConnected(bobPage);
    const dm = Number(/\/rooms\/(\d+)$/.exec(bobPage.url())![1]);
    // A brand-new DM reaches the sidebar live, through chat's `conversation` frame.
    await sidebarItem(page, dm).waitFor({ timeout: 5_000 });
    await say(bobPage, 'psst, a direct message');
    await expect.poll(() => page.evaluate(() => (window as unknown as { shown: unknown[] }).shown), { timeout: 10_000 })
      .toEqual([{ title: bob.displayName, body: 'psst, a direct message' }]);
    await expect.poll(() => page.title()).toBe('(1) Parley');
    await page.evaluate(() => (window as unknown as { setHidden: (h: boolean) => void }).setHidden(false));
    await expect.poll(() => page.title()).not.toContain('(1)');

    // Muting the conversation stops the notifications (the unread count still shows).
    await sidebarItem(page, dm).click();
    await page.check('#mute-notifications');
    await expect.poll(async () => (await db.pool.query<{ notifications_muted: boolean }>(`SELECT notifications_muted FROM room_members m JOIN users u ON u.id = m.user_id WHERE u.handle = $1 AND m.room_id = $2`, [ann.handle, dm])).rows[0]?.notifications_muted).toBe(true);
    await sidebarItem(page, lobby).click();
    await page.evaluate(() => (window as unknown as { setHidden: (h: boolean) => void }).setHidden(true));
    await say(bobPage, 'muted one');
    await expect.poll(() => unreadBadge(page, dm).textContent(), { timeout: 10_000 }).toBe('1, 1 unread');
    expect(await page.evaluate(() => (window as unknown as { shown: unknown[] }).shown)).toHaveLength(1);
    await ctx.close();
  });

  it('moves the read pointer only while the window has focus: a message arriving in an unfocused window stays unread until focus returns', async () => {
    const ctx = await pages.context();
    // Headless Chromium always reports focus: stub document.hasFocus and drive blur/focus events.
    await ctx.addInitScript(() => {
      let focused = true;
      document.hasFocus = () => focused;
      (window as unknown as { setFocused: (f: boolean) => void }).setFocused = (f) => {
        focused = f;
        window.dispatchEvent(new Event(f ? 'focus' : 'blur'));
      };
    });
    await bobPage.goto(`/chat/${lobby}`);
    await waitConnected(bobPage);
    // Ann's other tab looks elsewhere (it would read the lobby, and the read would sync to this one).
    await annPage.goto(`/chat/${news}`);
    await waitConnected(annPage);
    const page = await ctx.newPage();
    await logIn(page, stack.adminUrl, ann.email, ann.password);
    await page.goto(`/chat/${lobby}`);
    await waitConnected(page);
    const readSeq = async () => Number((await db.pool.query<{ last_read_seq: number }>(
      `SELECT m.last_read_seq FROM room_members m JOIN users u ON u.id = m.user_id WHERE u.handle = $1 AND m.room_id = $2`, [ann.handle, lobby])).rows[0]?.last_read_seq);
    const storeReadSeq = () => page.evaluate((id) => (window as unknown as { parleyStore: { rooms: Map<number, { conv: { lastReadSeq: number } }> } }).parleyStore.rooms.get(id)!.conv.lastReadSeq, lobby);

    await page.evaluate(() => (window as unknown as { setFocused: (f: boolean) => void }).setFocused(false));
    const text = `while you were away ${Date.now()}`;
    await say(bobPage, text);
    const row = page.locator('#messages li[data-seq]', { hasText: text });
    await row.waitFor({ timeout: 10_000 });
    const seq = Number(await row.getAttribute('data-seq'));
    // Rendered, on screen, at the bottom: the client would have marked it read by now if focus did not count.
    expect(await storeReadSeq()).toBeLessThan(seq);
    expect(await readSeq()).toBeLessThan(seq);

    await page.evaluate(() => (window as unknown as { setFocused: (f: boolean) => void }).setFocused(true));
    await expect.poll(readSeq, { timeout: 10_000 }).toBe(seq);
    expect(await storeReadSeq()).toBe(seq);
    await ctx.close();
  });

  it('500 messages: scrolls back to the first with the reading position kept at every page, and renders a window, not all', async () => {
    const room = await createRoom(bobPage, `History ${Date.now()}`);
    const bobId = (await db.pool.query<{ id: number }>(`SELECT id FROM users WHERE handle = $1`, [bob.handle])).rows[0]!.id;
    await db.pool.query(
      `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at)
       SELECT $1, s, $2, 'hist-' || s, 'history message ' || s, now() - interval '1 minute' * (500 - s) FROM generate_series(1, 500) s`,
      [room, bobId],
    );
    await db.pool.query(`UPDATE rooms SET last_seq = 500 WHERE id = $1`, [room]);
    await annPage.goto(`/chat/${room}`);
    await waitConnected(annPage);
    await annPage.locator('#messages li[data-seq="500"]').waitFor();
    const jumps: number[] = [];
    for (let round = 0; round < 40; round++) {
      const state = await annPage.evaluate(() => {
        const scroller = document.querySelector('.scroller') as HTMLElement;
        const top = scroller.getBoundingClientRect().top;
        const first = [...document.querySelectorAll<HTMLElement>('#messages li[data-seq]')].find((li) => li.getBoundingClientRect().bottom > top)!;
        return { seq: Number(first.dataset.seq), offset: first.getBoundingClientRect().top - top, lowest: Number(document.querySelector<HTMLElement>('#messages li[data-seq]')!.dataset.seq) };
      });
      if (state.lowest === 1 && state.seq === 1) break;
      const moved = await annPage.evaluate(() => {
        const scroller = document.querySelector('.scroller') as HTMLElement;
        const before = scroller.scrollTop;
        scroller.scrollTop -= 2_000;
        return before - scroller.scrollTop;
      });
      await annPage.waitForTimeout(250);
      // The message that was at the top moved down by exactly the scroll: what loaded in went above it.
      const anchored = await annPage.evaluate((seq) => {
        const scroller = document.querySelector('.scroller') as HTMLElement;
        const li = document.querySelector<HTMLElement>(`#messages li[data-seq="${seq}"]`);
        return li ? li.getBoundingClientRect().top - scroller.getBoundingClientRect().top : null;
      }, state.seq);
      if (anchored !== null) jumps.push(Math.abs(anchored - (state.offset + moved)));
    }
    const seqs = await annPage.locator('#messages li[data-seq]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.length).toBeLessThanOrEqual(240); // a window over the 500 loaded
    expect(await annPage.locator('#messages .history-edge').textContent()).toContain('beginning');
    // The message being read never jumped when older pages came in (only the scroll itself moved it).
    expect(Math.max(...jumps), JSON.stringify(jumps)).toBeLessThan(4);
    // Jump to latest brings back the end with one click.
    await annPage.click('#jump-latest');
    await annPage.locator('#messages li[data-seq="500"]').waitFor();
  });

  it('renders the markdown subset and links safely: no raw HTML, no javascript: links, dir="auto"', async () => {
    await annPage.goto(`/chat/${lobby}`);
    await waitConnected(annPage);
    await bobPage.goto(`/chat/${lobby}`);
    await waitConnected(bobPage);
    const body = [
      '**bold** *italic* ~~gone~~ `code` https://example.com/x?y=1 [click](javascript:alert(1)) <b onclick="x()">raw</b>',
      '> quoted',
      '',
      '- one',
      '- two',
      '',
      '```',
      '<script>alert(1)</script>',
      '```',
    ].join('\n');
    await bobPage.fill('#message-input', body);
    await bobPage.press('#message-input', 'Enter');
    const li = annPage.locator('#messages li[data-seq]', { hasText: 'quoted' }).last();
    await li.waitFor({ timeout: 10_000 });
    const b = li.locator('.body');
    expect(await b.getAttribute('dir')).toBe('auto');
    expect(await b.locator('strong').textContent()).toBe('bold');
    expect(await b.locator('em').textContent()).toBe('italic');
    expect(await b.locator('s').textContent()).toBe('gone');
    expect(await b.locator('p > code').textContent()).toBe('code');
    expect(await b.locator('blockquote').textContent()).toContain('quoted');
    expect(await b.locator('ul li').allTextContents()).toEqual(['one', 'two']);
    expect(await b.locator('pre code').textContent()).toBe('<script>alert(1)</script>\n');
    const link = b.locator('a');
    expect(await link.count()).toBe(1); // the autolink; the javascript: one stays text
    expect(await link.getAttribute('href')).toBe('https://example.com/x?y=1');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toContain('noopener');
    expect(await b.textContent()).toContain('<b onclick="x()">raw</b>');
    expect(await b.locator('b, script, [onclick]').count()).toBe(0);
  });

  it('mobile (390×844): composer visible, sidebar in a drawer, no horizontal scrollbar on any page', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await logIn(page, stack.adminUrl, ann.email, ann.password);
    await page.goto(`/chat/${lobby}`);
    await waitConnected(page);
    const box = await page.locator('#message-input').boundingBox();
    const send = await page.locator('#composer button[type=submit]').boundingBox();
    expect(box!.y + box!.height).toBeLessThanOrEqual(844);
    expect(send!.x + send!.width).toBeLessThanOrEqual(390);
    expect(await page.locator('#sidebar').isVisible()).toBe(true); // in the DOM, off-screen
    expect((await page.locator('#sidebar').boundingBox())!.x + (await page.locator('#sidebar').boundingBox())!.width).toBeLessThanOrEqual(0);
    await page.click('#drawer-toggle');
    await expect.poll(async () => (await page.locator('#sidebar').boundingBox())!.x).toBe(0);
    await sidebarItem(page, news).click();
    await page.waitForURL(`**/chat/${news}`);
    await expect.poll(async () => (await page.locator('#sidebar').boundingBox())!.x).toBeLessThan(0);
    for (const path of ['/rooms', `/chat/${news}`, '/profile', '/login']) {
      await page.goto(path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
  });

  it('a group DM from the sidebar: Bob sees it appear live with everyone\'s names and reads Ann\'s message; a plain user\'s @room is plain text', async () => {
    const cat = newUser('cat');
    const catPage = await newPage();
    await signUp(catPage, stack.adminUrl, cat);
    await bobPage.goto(`/chat/${lobby}`);
    await waitConnected(bobPage);
    const bobDmsBefore = await bobPage.locator('#sidebar-dm-list a.conv').count();

    await annPage.goto(`/chat/${lobby}`);
    await waitConnected(annPage);
    await annPage.fill('#sidebar-dm-handle', `@${bob.handle} @${cat.handle}`);
    await Promise.all([annPage.waitForURL(/\/rooms\/\d+$/), annPage.press('#sidebar-dm-handle', 'Enter')]);
    const group = Number(/\/rooms\/(\d+)$/.exec(annPage.url())![1]);
    await waitConnected(annPage);
    expect(await annPage.locator('#conversation-title').textContent()).toContain(`@${bob.handle}`);

    // Bob did not reload: the conversation frame puts it in his sidebar, under Direct messages.
    const bobItem = bobPage.locator(`#sidebar-dm-list a.conv[data-room-id="${group}"]`);
    await bobItem.waitFor({ timeout: 10_000 });
    expect(await bobPage.locator('#sidebar-dm-list a.conv').count()).toBe(bobDmsBefore + 1);
    const name = await bobItem.locator('.conv-name').textContent();
    expect(name).toContain(ann.displayName);
    expect(name).toContain(cat.displayName);

    await say(annPage, 'hello both of you');
    await say(annPage, '@room is only a mention from moderators');
    await expect.poll(() => unreadBadge(bobPage, group).textContent(), { timeout: 10_000 }).toBe('2, 2 unread');
    expect(await mentionBadge(bobPage, group).count()).toBe(0);
    await bobItem.click();
    await bobPage.waitForURL(`**/chat/${group}`);
    await waitConnected(bobPage);
    await expect.poll(() => bobPage.locator('#messages li[data-seq] .body').allTextContents(), { timeout: 10_000 })
      .toEqual(['hello both of you', '@room is only a mention from moderators']);
    expect(await bobPage.locator('#messages .mention').count()).toBe(0);
    expect(await bobPage.locator('#messages li.mentions-me').count()).toBe(0);
  });

  it('group DM management: "Add people" opens the conversation of the new set; "Leave conversation" drops it from your sidebar and your name from the others\'', async () => {
    const dee = newUser('dee');
    const eli = newUser('eli');
    const deePanel = new PanelClient(stack.adminUrl);
    await deePanel.signUp(dee);
    await new PanelClient(stack.adminUrl).signUp(eli);
    const members = async (room: number) => (await db.pool.query(
      `SELECT u.handle FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY u.handle`, [room])).rows.map((r: { handle: string }) => r.handle);

    await annPage.goto(`/chat/${lobby}`);
    await waitConnected(annPage);
    await annPage.fill('#sidebar-dm-handle', `@${bob.handle} @${dee.handle}`);
    await Promise.all([annPage.waitForURL(/\/rooms\/\d+$/), annPage.press('#sidebar-dm-handle', 'Enter')]);
    const first = Number(/\/rooms\/(\d+)$/.exec(annPage.url())![1]);
    await waitConnected(annPage);

    // Add Eli: a new conversation of the four of them; the first one keeps its three people.
    await annPage.fill('#add-people-handles', `@${eli.handle}`);
    await Promise.all([annPage.waitForURL((u) => /\/rooms\/\d+$/.test(u.pathname) && u.pathname !== `/rooms/${first}`), annPage.click('#add-people-form button[type=submit]')]);
    const second = Number(/\/rooms\/(\d+)$/.exec(annPage.url())![1]);
    expect(await members(second)).toEqual([ann.handle, bob.handle, dee.handle, eli.handle].sort());
    expect(await members(first)).toEqual([ann.handle, bob.handle, dee.handle].sort());

    // Bob watches the first conversation while Ann leaves it.
    await bobPage.goto(`/chat/${first}`);
    await waitConnected(bobPage);
    const bobItem = bobPage.locator(`#sidebar-dm-list a.conv[data-room-id="${first}"] .conv-name`);
    expect(await bobItem.textContent()).toContain(ann.displayName);
    await annPage.goto(`/chat/${first}`);
    await waitConnected(annPage);
    await annPage.click('#leave-conversation');
    await annPage.click('#leave-confirm');
    await sidebarItem(annPage, first).waitFor({ state: 'detached', timeout: 10_000 });
    await annPage.waitForURL((u) => u.pathname !== `/chat/${first}` && u.pathname !== `/rooms/${first}`);
    expect(await members(first)).toEqual([bob.handle, dee.handle].sort());
    await expect.poll(() => bobItem.textContent(), { timeout: 10_000 }).not.toContain(ann.displayName);
    // Durable: a reload does not bring it back.
    await annPage.reload();
    await waitConnected(annPage);
    expect(await sidebarItem(annPage, first).count()).toBe(0);
    expect(await sidebarItem(annPage, second).count()).toBe(1);

    // A two-person DM cannot be left but can be closed: out of the sidebar until the next message.
    await annPage.fill('#sidebar-dm-handle', `@${dee.handle}`);
    await Promise.all([annPage.waitForURL(/\/rooms\/\d+$/), annPage.press('#sidebar-dm-handle', 'Enter')]);
    const dm = Number(/\/rooms\/(\d+)$/.exec(annPage.url())![1]);
    await waitConnected(annPage);
    expect(await annPage.locator('#leave-conversation').count()).toBe(0);
    await annPage.click('#hide-conversation');
    await sidebarItem(annPage, dm).waitFor({ state: 'detached', timeout: 10_000 });
    await annPage.reload();
    await waitConnected(annPage);
    expect(await sidebarItem(annPage, dm).count()).toBe(0);
    const deeSocket = await TestSocket.open(stack.chats[0]!.wsUrl, await deePanel.chatToken(), { origin: stack.adminUrl });
    try {
      await deeSocket.next('hello');
      deeSocket.send({ type: 'join', room: dm });
      deeSocket.send({ type: 'send', room: dm, clientId: 'dee-back-1', body: 'are you there?' });
      await deeSocket.next('ack', (f) => f.clientId === 'dee-back-1');
    } finally {
      deeSocket.close();
    }
    await sidebarItem(annPage, dm).waitFor({ timeout: 10_000 });
    expect(await unreadBadge(annPage, dm).textContent()).toBe('1, 1 unread');
  });

  it('every page links the SVG favicon, which loads under the strict CSP: no 404 and no console error', async () => {
    const page = await newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    await logIn(page, stack.adminUrl, ann.email, ann.password);
    await waitConnected(page);
    for (const path of ['/chat', '/rooms', '/profile']) {
      await page.goto(path);
      expect(await page.locator('head link[rel=icon]').getAttribute('href'), path).toBe('/static/favicon.svg');
    }
    const icon = await page.request.get('/static/favicon.svg');
    expect(icon.status()).toBe(200);
    expect(icon.headers()['content-type']).toContain('image/svg+xml');
    const old = await page.request.get('/favicon.ico', { maxRedirects: 0 });
    expect([old.status(), old.headers().location]).toEqual([301, '/static/favicon.svg']);
    // The icon really rendered: the browser fetched it (an <img> of it decodes, under img-src 'self').
    expect(await page.evaluate(async () => {
      const img = new Image();
      img.src = '/static/favicon.svg';
      await img.decode();
      return img.naturalWidth > 0;
    })).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
