// Closing a direct conversation reaches every tab and device of the person (a conversation_hidden
// control event in Postgres, not a message between tabs): another tab drops it from its sidebar at
// once, a device that was offline drops it once it reconnects (the client re-reads the list), and
// opening it again (the "Message @handle" form, or going to its address) brings it back everywhere.
// Chromium against real admin + chat, Postgres and Redis.
import { describe, expect } from 'vitest';
import type { Page } from 'playwright-core';
import { logIn, signUp, waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';

const test = e2eTest({ label: 'ui_dm_close', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });

const dmItem = (page: Page, roomId: number) => page.locator(`#sidebar-dm-list a.conv[data-room-id="${roomId}"]`);

/** Open the DM with `handle` from the sidebar form; returns its room id. */
async function openDm(page: Page, handle: string): Promise<number> {
  await page.fill('#sidebar-dm-handle', `@${handle}`);
  await Promise.all([page.waitForURL(/\/rooms\/\d+$/), page.press('#sidebar-dm-handle', 'Enter')]);
  await waitConnected(page);
  return Number(/\/rooms\/(\d+)$/.exec(page.url())![1]);
}

describe('closing a direct conversation', () => {
  test('closed in one tab: gone from another tab at once and from an offline device when it reconnects; reopened: back everywhere', async ({ stack, pages }) => {
    const ann = newUser('ann');
    const bob = newUser('bob');
    await new PanelClient(stack.adminUrl).signUp(bob);
    const browserOfAnn = await pages.context();
    const tab = await browserOfAnn.newPage();
    await signUp(tab, stack.adminUrl, ann);
    await waitConnected(tab);
    const otherTab = await browserOfAnn.newPage();
    await otherTab.goto('/chat');
    await waitConnected(otherTab);
    const phone = await pages.open();
    await logIn(phone, stack.adminUrl, ann.email, ann.password);
    await waitConnected(phone);

    const dm = await openDm(tab, bob.handle);
    for (const page of [otherTab, phone]) await dmItem(page, dm).waitFor({ timeout: 10_000 });

    await phone.context().setOffline(true);
    await phone.locator('#conn-state[data-state=reconnecting]').waitFor({ timeout: 5_000 });

    await tab.click('#hide-conversation');
    await dmItem(tab, dm).waitFor({ state: 'detached', timeout: 10_000 });
    // No reload: the other tab was told.
    await dmItem(otherTab, dm).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await dmItem(phone, dm).count()).toBe(1); // offline: nobody could tell it yet

    await phone.context().setOffline(false);
    await waitConnected(phone, 20_000);
    await dmItem(phone, dm).waitFor({ state: 'detached', timeout: 10_000 });

    // Opened again (from the other tab): back in every sidebar.
    expect(await openDm(otherTab, bob.handle)).toBe(dm);
    for (const page of [tab, phone]) await dmItem(page, dm).waitFor({ timeout: 10_000 });

    // Closed once more; going to it (its address, as a link or the quick switcher does) opens it again everywhere.
    await otherTab.click('#hide-conversation');
    for (const page of [tab, otherTab, phone]) await dmItem(page, dm).waitFor({ state: 'detached', timeout: 10_000 });
    await phone.goto(`/chat/${dm}`);
    await waitConnected(phone);
    for (const page of [tab, otherTab, phone]) await dmItem(page, dm).waitFor({ timeout: 10_000 });

    // A page that picks a conversation by itself (/chat: the last one seen there) never picks a closed one.
    await dmItem(phone, dm).click(); // remembered as the phone's last conversation
    await tab.click(`#sidebar-dm-list a.conv[data-room-id="${dm}"]`);
    await tab.waitForURL(`**/chat/${dm}`);
    await tab.click('#hide-conversation');
    await dmItem(otherTab, dm).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await dmItem(phone, dm).count()).toBe(1); // shown on the phone: it stays until the phone goes elsewhere
    await phone.goto('/chat');
    await waitConnected(phone);
    expect(phone.url()).not.toContain(`/chat/${dm}`);
    expect(await dmItem(phone, dm).count()).toBe(0);
  });
});
