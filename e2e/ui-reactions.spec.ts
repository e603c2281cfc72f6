// Reactions and replies in the web client, two people in two browser contexts (real Chromium, real
// stack): a reaction appears live on the other's screen with its count and who reacted (also one made
// offline, once the network is back); a reply shows its quote there, which scrolls to the original and
// highlights it; a deleted original says so.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Stack } from '@parley/devtools';
import { e2eTest } from './support/fixtures.ts';
import type { PageJar } from './support/pages.ts';
import { createRoom, openChat, say, signUp, waitConnected } from './support/browser.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const test = e2eTest({ label: 'ui_reactions', stack: { chatEnv: { LOG_LEVEL: 'warn', SEND_RATE_PER_SEC: '1000', SEND_BURST: '1000' } } });
let stack: Stack;
let pages: PageJar;

const ann = newUser('ann');
const bob = newUser('bob');
let annPage: Page;
let bobPage: Page;
let room = 0;

test.beforeAll(async ({ stack: s, pages: p }) => {
  [stack, pages] = [s, p];
  annPage = await newPage();
  bobPage = await newPage();
  await signUp(annPage, stack.adminUrl, ann);
  await signUp(bobPage, stack.adminUrl, bob);
  room = await createRoom(bobPage, `Reactions ${Date.now()}`);
  await annPage.goto(`/rooms/${room}`); // joins the public room
  await openChat(room, annPage, bobPage);
});

const newPage = (): Promise<Page> => pages.open();

/** Bob, logged in over HTTP, on a raw socket joined to the room (quicker than his page for many frames). */
async function asBobOverASocket(use: (socket: TestSocket) => Promise<void>): Promise<void> {
  const bobPanel = new PanelClient(stack.adminUrl);
  await bobPanel.logIn(bob.email, bob.password);
  const socket = await TestSocket.open(stack.chats[0]!.wsUrl, await bobPanel.chatToken(), { origin: stack.adminUrl });
  try {
    await socket.next('hello');
    socket.send({ type: 'join', room });
    await socket.next('caught_up');
    await use(socket);
  } finally {
    socket.close();
  }
}

const row = (page: Page, text: string) => page.locator('#messages li[data-seq]', { has: page.locator('.body', { hasText: text }) });

describe('reactions and replies in the browser', () => {
  it('react and see it live on a second user\'s screen', async () => {
    await say(bobPage, 'react to this please');
    const onAnn = row(annPage, 'react to this please');
    await onAnn.waitFor();
    // Ann opens the picker from the message's actions, searches, and picks.
    await onAnn.hover();
    await onAnn.locator('.actions button.react').click();
    await annPage.locator('#emoji-search').fill('thumbs up');
    await annPage.locator('.emoji-picker button.emoji[aria-label="thumbs up"]').click();
    await expect.poll(() => annPage.locator('.emoji-picker').count()).toBe(0);

    // Bob sees the chip live: count, and who reacted in the tooltip and the accessible name.
    const chip = row(bobPage, 'react to this please').locator('.reactions button.reaction');
    await chip.waitFor({ timeout: 10_000 });
    expect((await chip.textContent())?.replace(/\s+/g, '')).toBe('👍1');
    expect(await chip.getAttribute('title')).toBe(`Reacted with 👍 by @${ann.handle}`);
    expect(await chip.getAttribute('aria-label')).toContain(`1 reaction by @${ann.handle}; press to add yours`);
    expect(await chip.getAttribute('aria-pressed')).toBe('false');

    // Bob adds his by clicking the chip: 2 on both screens, pressed for Bob.
    await chip.click();
    await expect.poll(() => chip.textContent().then((t) => t?.replace(/\s+/g, '')), { timeout: 10_000 }).toBe('👍2');
    expect(await chip.getAttribute('aria-pressed')).toBe('true');
    const annChip = onAnn.locator('.reactions button.reaction');
    await expect.poll(() => annChip.getAttribute('title'), { timeout: 10_000 }).toBe(`Reacted with 👍 by you, @${bob.handle}`);

    // The picker remembers what Ann used: it is first among the recent ones next time.
    await onAnn.hover();
    await onAnn.locator('.actions button.react').click();
    expect(await annPage.locator('.emoji-picker .emoji-heading').first().textContent()).toBe('Recently used');
    expect(await annPage.locator('.emoji-picker .emoji-grid').first().locator('button.emoji').first().textContent()).toBe('👍');
    await annPage.keyboard.press('Escape');
    await expect.poll(() => annPage.locator('.emoji-picker').count()).toBe(0);

    // Ann takes hers back: Bob sees 1 again; after a reload, the state is the same (stored, not live-only).
    await annChip.click();
    await expect.poll(() => chip.textContent().then((t) => t?.replace(/\s+/g, '')), { timeout: 10_000 }).toBe('👍1');
    await bobPage.reload();
    await waitConnected(bobPage);
    const reloaded = row(bobPage, 'react to this please').locator('.reactions button.reaction');
    await reloaded.waitFor();
    expect(await reloaded.getAttribute('title')).toBe('Reacted with 👍 by you');
  });

  it('reply and jump', { timeout: 120_000 }, async () => {
    await say(annPage, 'the original question');
    for (let i = 0; i < 40; i++) await say(annPage, `filler ${i}`); // pushes the original out of view
    await row(bobPage, 'filler 39').waitFor({ timeout: 15_000 });
    // Bob replies to the original: Reply puts a chip above the composer; Escape cancels it; Reply again.
    const original = row(bobPage, 'the original question');
    await original.scrollIntoViewIfNeeded();
    await original.hover();
    await original.locator('.actions button.reply').click();
    await bobPage.locator('#reply-chip', { hasText: 'the original question' }).waitFor();
    await bobPage.press('#message-input', 'Escape');
    await expect.poll(() => bobPage.locator('#reply-chip').count()).toBe(0);
    await original.hover();
    await original.locator('.actions button.reply').click();
    await say(bobPage, 'here is the answer');
    await expect.poll(() => bobPage.locator('#reply-chip').count()).toBe(0);

    // Ann sees the quote, marked as a reply to her (a mention), clicks it: the original is shown and highlighted.
    const reply = row(annPage, 'here is the answer');
    await reply.waitFor({ timeout: 10_000 });
    expect(await reply.getAttribute('class')).toContain('mentions-me');
    const quote = reply.locator('.reply-quote');
    expect(await quote.textContent()).toContain('the original question');
    const originalOnAnn = row(annPage, 'the original question');
    const inView = () => originalOnAnn.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const pane = document.querySelector('#messages')!.parentElement!.getBoundingClientRect();
      return box.bottom > pane.top && box.top < pane.bottom;
    });
    expect(await inView()).toBe(false);
    await quote.click();
    await expect.poll(() => originalOnAnn.getAttribute('class')).toContain('highlighted');
    expect(await inView()).toBe(true);

    // After a reload only the latest messages are loaded: the quote fetches older pages until the original
    // is here. Bob writes many more (over a socket: quicker) and then a reply to the original.
    const originalSeq = Number(await originalOnAnn.getAttribute('data-seq'));
    await asBobOverASocket(async (socket) => {
      for (let i = 40; i < 300; i++) socket.send({ type: 'send', room, clientId: `filler-${i}`, body: `filler ${i}` });
      socket.send({ type: 'send', room, clientId: 'later', body: 'a later answer', replyTo: originalSeq });
      await socket.next('ack', (f) => f.clientId === 'later', 30_000);
    });
    await annPage.reload();
    await waitConnected(annPage);
    const later = row(annPage, 'a later answer');
    await later.waitFor({ timeout: 10_000 });
    expect(await originalOnAnn.count()).toBe(0); // not loaded
    await later.locator('.reply-quote').click();
    await expect.poll(() => originalOnAnn.getAttribute('class'), { timeout: 10_000 }).toContain('highlighted');
    await expect.poll(inView).toBe(true);

    // Ann deletes the original: the quote says so, on both screens.
    annPage.once('dialog', (d) => void d.accept());
    await originalOnAnn.hover();
    await originalOnAnn.locator('.actions button', { hasText: 'Delete' }).click();
    await expect.poll(() => row(bobPage, 'a later answer').locator('.reply-quote').textContent(), { timeout: 10_000 }).toContain('Original message deleted');
    // (Ann's window is around the original now: the first reply, near it, is on screen.)
    await expect.poll(() => reply.locator('.reply-quote').textContent()).toContain('Original message deleted');
    // And so it is for someone who loads it afresh (from Postgres, not from the live update).
    await bobPage.reload();
    await waitConnected(bobPage);
    expect(await row(bobPage, 'a later answer').locator('.reply-quote').textContent()).toContain('Original message deleted');
  });

  it('a reaction made offline shows at once and reaches the other person when the network is back', async () => {
    await annPage.reload(); // the latest messages, not the window around the deleted original
    await waitConnected(annPage);
    await say(bobPage, 'react while offline');
    const onAnn = row(annPage, 'react while offline');
    await onAnn.waitFor({ timeout: 10_000 });
    const seq = Number(await onAnn.getAttribute('data-seq'));
    await asBobOverASocket(async (socket) => {
      socket.send({ type: 'react', room, seq, emoji: '👍', on: true });
      await socket.next('reacted');
    });
    const annChip = onAnn.locator('.reactions button.reaction');
    await annChip.waitFor({ timeout: 10_000 });

    await annPage.context().setOffline(true);
    await annPage.locator('#conn-state[data-state=reconnecting]').waitFor({ timeout: 5_000 });
    await annChip.click();
    expect(await annChip.getAttribute('aria-pressed')).toBe('true'); // shown at once
    expect((await annChip.textContent())?.replace(/\s+/g, '')).toBe('👍2');
    await annPage.context().setOffline(false);
    await waitConnected(annPage, 20_000);

    const bobChip = row(bobPage, 'react while offline').locator('.reactions button.reaction');
    await expect.poll(() => bobChip.getAttribute('title'), { timeout: 10_000 }).toBe(`Reacted with 👍 by you, @${ann.handle}`);
    // Stored: a reload shows it too.
    await annPage.reload();
    await waitConnected(annPage);
    await expect.poll(() => row(annPage, 'react while offline').locator('.reactions button.reaction').getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('true');
  });
});
