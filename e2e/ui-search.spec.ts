// Message search in Chromium against real processes (admin + chat, real Postgres and Redis): search a
// rare word in a long room, open the result by keyboard, see it highlighted with context above and
// below, scroll down page by page to the live end, and get a new message there live.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Stack, TestDatabase } from '@parley/devtools';
import { e2eTest } from './support/fixtures.ts';
import type { PageJar } from './support/pages.ts';
import { createRoom, screenshot, signUp, waitConnected } from './support/browser.ts';
import { newUser } from './support/http.ts';

const MESSAGES = 600;
const TARGET = 150;

const test = e2eTest({ label: 'ui_search', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });
let db: TestDatabase;
let stack: Stack;
let pages: PageJar;
const ann = newUser('ann');
const bob = newUser('bob');
let annPage: Page;
let bobPage: Page;
let room = 0;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, pages: p }) => void ([db, stack, pages] = [d, s, p]));

const newPage = (): Promise<Page> => pages.open();

/** Where a message row is relative to the scroller's viewport (null: not rendered). */
async function placement(page: Page, seq: number): Promise<{ top: number; bottom: number; height: number } | null> {
  return page.evaluate((s) => {
    const scroller = document.querySelector('.scroller') as HTMLElement;
    const li = document.querySelector<HTMLElement>(`#messages li[data-seq="${s}"]`);
    if (!li) return null;
    const box = scroller.getBoundingClientRect();
    const r = li.getBoundingClientRect();
    return { top: r.top - box.top, bottom: r.bottom - box.top, height: box.height };
  }, seq);
}

const renderedSeqs = (page: Page) => page.locator('#messages li[data-seq]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));

describe('message search in the web client', () => {
  it('search and jump to a result in a long room, then scroll down to live', async () => {
    annPage = await newPage();
    bobPage = await newPage();
    await signUp(annPage, stack.adminUrl, ann);
    await signUp(bobPage, stack.adminUrl, bob);
    room = await createRoom(bobPage, `Long ${Date.now()}`);
    const bobId = Number((await db.pool.query<{ id: number }>(`SELECT id FROM users WHERE handle = $1`, [bob.handle])).rows[0]!.id);
    // 600 messages, one of them (far above the latest page) with a rare word.
    await db.pool.query(
      `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at)
       SELECT $1, s, $2, 'long-' || s, CASE WHEN s = $3 THEN 'a resplendent quetzal flew past' ELSE 'filler line ' || s END,
              now() - interval '1 minute' * ($4 - s)
         FROM generate_series(1, $4) s`,
      [room, bobId, TARGET, MESSAGES],
    );
    await db.pool.query(`UPDATE rooms SET last_seq = $2 WHERE id = $1`, [room, MESSAGES]);

    await annPage.goto(`/rooms/${room}`); // joins the public room
    await waitConnected(annPage);
    await annPage.locator(`#messages li[data-seq="${MESSAGES}"]`).waitFor();
    expect(await placement(annPage, TARGET)).toBeNull(); // far above what the room opened with

    // Search with the keyboard: "/" focuses the box, Enter searches, ↓ reaches the result, Enter opens it.
    await annPage.locator('#message-input').blur();
    await annPage.keyboard.press('/');
    expect(await annPage.evaluate(() => document.activeElement?.id)).toBe('search-input');
    await annPage.keyboard.type('quetz*');
    await annPage.keyboard.press('Enter');
    const result = annPage.locator('#search-results a.search-result');
    await expect.poll(() => result.count()).toBe(1);
    expect(await result.locator('mark').textContent()).toBe('quetzal');
    expect(await result.locator('.search-excerpt').textContent()).toBe('a resplendent quetzal flew past');
    await screenshot(annPage, 'search-results');
    await annPage.keyboard.press('ArrowDown');
    expect(await annPage.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.seq)).toBe(String(TARGET));
    await annPage.keyboard.press('Enter');

    // The room at that message: highlighted, in view, with context above and below; the panel is gone.
    await annPage.locator(`#messages li.search-hit[data-seq="${TARGET}"]`).waitFor();
    await expect.poll(() => annPage.locator('#search-results').count()).toBe(0);
    await expect.poll(async () => {
      const p = await placement(annPage, TARGET);
      return p !== null && p.top > 0 && p.bottom < p.height;
    }).toBe(true);
    for (const seq of [TARGET - 3, TARGET - 1, TARGET + 1, TARGET + 3]) {
      const p = (await placement(annPage, seq))!;
      expect(p, `message ${seq} is in view`).not.toBeNull();
      expect(p.top >= 0 && p.bottom <= p.height, `message ${seq} is in view`).toBe(true);
    }
    const around = await renderedSeqs(annPage);
    expect(around).toEqual([...around].sort((a, b) => a - b));
    expect(around.at(-1)).toBeLessThan(MESSAGES); // an older window, not the live end
    expect(await annPage.locator('#jump-latest').count()).toBe(1);
    await screenshot(annPage, 'search-opened-at-result');

    // Scroll down: newer pages come in below until the live end; never a gap or a duplicate.
    for (let round = 0; round < 80; round++) {
      const seqs = await renderedSeqs(annPage);
      if (seqs.at(-1) === MESSAGES && (await annPage.locator('#messages .history-edge', { hasText: 'newer' }).count()) === 0) break;
      await annPage.evaluate(() => {
        const scroller = document.querySelector('.scroller') as HTMLElement;
        scroller.scrollTop = scroller.scrollHeight;
      });
      await annPage.waitForTimeout(200);
    }
    const end = await renderedSeqs(annPage);
    expect(end.at(-1)).toBe(MESSAGES);
    expect(end).toEqual(Array.from({ length: end.length }, (_, i) => end[0]! + i));
    expect(await annPage.locator('#messages .history-edge', { hasText: 'newer' }).count()).toBe(0);

    // Live: Bob writes, and it appears at the bottom of Ann's list.
    await bobPage.goto(`/chat/${room}`);
    await waitConnected(bobPage);
    await bobPage.fill('#message-input', 'live after the search');
    await bobPage.press('#message-input', 'Enter');
    const last = annPage.locator('#messages li[data-seq]').last();
    await expect.poll(() => last.getAttribute('data-seq'), { timeout: 10_000 }).toBe(String(MESSAGES + 1));
    expect(await last.locator('.body').textContent()).toBe('live after the search');
  });

  it('a result in a public room one has not joined opens it (the page joins it) at that message', async () => {
    const cat = newUser('cat');
    const catPage = await newPage();
    await signUp(catPage, stack.adminUrl, cat);
    await catPage.goto('/chat');
    await catPage.locator('#search-input').waitFor();
    await catPage.fill('#search-input', 'resplendent');
    await catPage.press('#search-input', 'Enter');
    const result = catPage.locator('#search-results a.search-result');
    await expect.poll(() => result.count()).toBe(1);
    await Promise.all([catPage.waitForURL(`**/chat/${room}`), result.click()]);
    await catPage.locator(`#messages li.search-hit[data-seq="${TARGET}"]`).waitFor();
    await waitConnected(catPage);
    expect(await catPage.locator(`#sidebar a.conv[data-room-id="${room}"]`).count()).toBe(1);
  });

  it('Escape closes the results and returns to the box; a non-member finds nothing in a private room', async () => {
    await annPage.fill('#search-input', 'filler');
    await annPage.press('#search-input', 'Enter');
    await annPage.locator('#search-results a.search-result').first().waitFor();
    await annPage.keyboard.press('ArrowDown');
    await annPage.keyboard.press('Escape');
    await expect.poll(() => annPage.locator('#search-results').count()).toBe(0);
    expect(await annPage.evaluate(() => document.activeElement?.id)).toBe('search-input');

    // Bob's private room: Ann's search does not see it.
    await bobPage.goto('/rooms');
    await bobPage.fill('#name', `Hidden ${Date.now()}`);
    await bobPage.check('input[name=kind][value=private]');
    await Promise.all([bobPage.waitForURL(/\/rooms\/\d+$/), bobPage.click('#create-room button[type=submit]')]);
    const hidden = Number(/\/rooms\/(\d+)$/.exec(bobPage.url())![1]);
    expect((await db.pool.query<{ kind: string }>('SELECT kind FROM rooms WHERE id = $1', [hidden])).rows[0]!.kind).toBe('private');
    await bobPage.goto(`/chat/${hidden}`);
    await waitConnected(bobPage);
    await bobPage.fill('#message-input', 'the axolotl plan');
    await bobPage.press('#message-input', 'Enter');
    await bobPage.locator('#messages li[data-seq="1"]').waitFor();
    await bobPage.fill('#search-input', 'axolotl');
    await bobPage.press('#search-input', 'Enter');
    await expect.poll(() => bobPage.locator('#search-results a.search-result').count()).toBe(1);
    await annPage.fill('#search-input', 'axolotl');
    await annPage.press('#search-input', 'Enter');
    await expect.poll(() => annPage.locator('#search-results [role=status]').textContent()).toContain('No messages match');
  });
});
