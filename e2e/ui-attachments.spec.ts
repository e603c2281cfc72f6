// Attachments in the web client, two people in two browser contexts (real Chromium, real stack, the
// filesystem store): Ann pastes an image into the composer and sends it; Bob sees the thumbnail live
// (its box sized before it loads) and opens the full image; someone outside the private room gets 403;
// an HTML file attached with the button is a download card, served as an attachment and never
// rendered; a file over the limit is refused on its chip while the draft text stays.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { Stack, TestDatabase } from '@parley/devtools';
import { logIn, openChat, pasteFile } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import type { PageJar } from './support/pages.ts';
import { newUser, PanelClient } from './support/http.ts';

const MAX_BYTES = 200_000;
const test = e2eTest({
  label: 'ui_attachments',
  stack: { chatEnv: { LOG_LEVEL: 'warn' }, adminEnv: { LOG_LEVEL: 'warn', ATTACHMENT_MAX_BYTES: String(MAX_BYTES) } },
});
let db: TestDatabase;
let stack: Stack;
let pages: PageJar;

const ann = newUser('ann');
const bob = newUser('bob');
const eve = newUser('eve');
let annPage: Page;
let bobPage: Page;
let outsider: PanelClient;
let room = 0;

test.beforeAll(async ({ db: d, stack: s, pages: p }) => {
  [db, stack, pages] = [d, s, p];
  const annHttp = new PanelClient(stack.adminUrl);
  await annHttp.signUp(ann);
  await new PanelClient(stack.adminUrl).signUp(bob);
  outsider = new PanelClient(stack.adminUrl);
  await outsider.signUp(eve);
  room = await annHttp.createRoom(`Files ${Date.now().toString(36)}`, 'private');
  const invited = await annHttp.postForm(`/rooms/${room}/invite`, { handle: bob.handle }, `/rooms/${room}`);
  expect(invited.status).toBeLessThan(400);

  annPage = await newPage();
  bobPage = await newPage();
  await logIn(annPage, stack.adminUrl, ann.email, ann.password);
  await logIn(bobPage, stack.adminUrl, bob.email, bob.password);
  await openChat(room, annPage, bobPage);
}, 180_000);

const newPage = (): Promise<Page> => pages.open({ acceptDownloads: true });

const rowWith = (page: Page, selector: string) => page.locator('#messages li[data-seq]', { has: page.locator(selector) });

describe('attachments in the browser', () => {
  it('a pasted image is sent, shows live as a sized thumbnail on the other screen and opens full size; outsiders get 403', { timeout: 120_000 }, async () => {
    const png = await sharp({ create: { width: 900, height: 600, channels: 3, background: '#2a6' } }).png().toBuffer();
    await pasteFile(annPage, { name: 'chart.png', type: 'image/png', bytes: png });
    const chip = annPage.locator('#composer-files .file-chip', { hasText: 'chart.png' });
    await chip.locator('xpath=self::*[@data-status="ready"]').waitFor({ timeout: 20_000 });
    await annPage.press('#message-input', 'Enter'); // no text: the image alone is the message
    await annPage.locator('#composer-files').waitFor({ state: 'detached' });

    const image = rowWith(bobPage, '.attachment-image').locator('.attachment-image').last();
    await image.waitFor({ timeout: 15_000 });
    const img = image.locator('img');
    // The box is the image scaled into 320×240 before anything loads.
    expect([await img.getAttribute('width'), await img.getAttribute('height')]).toEqual(['320', '213']);
    expect(await img.getAttribute('alt')).toBe('chart.png');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
    const href = (await image.getAttribute('href'))!;
    expect(href).toMatch(/^\/api\/attachments\/[0-9a-f-]{36}$/);

    // Clicking opens the full image (a new tab, the image itself).
    const [full] = await Promise.all([bobPage.context().waitForEvent('page'), image.click()]);
    await full.waitForLoadState();
    expect(new URL(full.url()).pathname).toBe(href);
    expect(await full.evaluate(() => document.contentType)).toBe('image/png');
    expect(await full.evaluate(() => document.images[0]?.naturalWidth)).toBe(900);
    await full.close();

    // Someone outside the private room cannot fetch it, nor its thumbnail.
    expect((await outsider.request(href)).status).toBe(403);
    expect((await outsider.request(`${href}/thumbnail`)).status).toBe(403);
  });

  it('an HTML file attached with the button is a download card: served as an attachment, never rendered', { timeout: 120_000 }, async () => {
    await annPage.fill('#message-input', 'the page');
    await annPage.setInputFiles('#composer-file-input', {
      name: 'evil.html', mimeType: 'text/html', buffer: Buffer.from('<!doctype html><title>rendered</title><script>document.title = "script ran"</script>'),
    });
    await annPage.locator('#composer-files .file-chip[data-status=ready]').waitFor({ timeout: 20_000 });
    await annPage.click('button.send');

    const card = rowWith(bobPage, '.attachment-file').locator('.attachment-file', { hasText: 'evil.html' });
    await card.waitFor({ timeout: 15_000 });
    const link = card.locator('a.attachment-download');
    const href = (await link.getAttribute('href'))!;
    const res = await bobPage.request.get(href);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-disposition']).toMatch(/^attachment/);
    expect(res.headers()['x-content-type-options']).toBe('nosniff');

    const before = bobPage.url();
    const [download] = await Promise.all([bobPage.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('evil.html');
    expect(bobPage.url()).toBe(before); // still the chat: nothing navigated to (or rendered) the file
    expect(await bobPage.title()).not.toBe('script ran');
  });

  it('files dropped on the conversation are attached; an upload in progress is cancelled from its chip', { timeout: 60_000 }, async () => {
    await annPage.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
      const target = document.querySelector('#messages')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    const dropped = annPage.locator('#composer-files .file-chip', { hasText: 'dropped.txt' });
    await dropped.locator('xpath=self::*[@data-status="ready"]').waitFor({ timeout: 20_000 });
    await dropped.locator('button[aria-label="Remove dropped.txt"]').click();

    // Hold the next upload request so it stays in progress, then cancel it from its chip.
    let held = false;
    await annPage.route('**/api/rooms/*/attachments', () => {
      held = true; // never answered: only the browser's abort ends it
    });
    await annPage.setInputFiles('#composer-file-input', { name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000, 2) });
    const uploading = annPage.locator('#composer-files .file-chip[data-status=uploading]', { hasText: 'slow.bin' });
    await uploading.waitFor();
    await expect.poll(() => held).toBe(true);
    expect(await uploading.locator('progress').getAttribute('aria-label')).toBe('Uploading slow.bin');
    await uploading.locator('button[aria-label="Cancel the upload of slow.bin"]').click();
    await expect.poll(() => annPage.locator('#composer-files').count()).toBe(0);
    await annPage.unroute('**/api/rooms/*/attachments');
    const { rows } = await db.pool.query("SELECT 1 FROM attachments WHERE name = 'slow.bin'");
    expect(rows).toHaveLength(0); // it never reached the server
  });

  it('a file over the limit is refused on its chip with the reason; the draft text stays', { timeout: 60_000 }, async () => {
    await annPage.fill('#message-input', 'keep this text');
    await annPage.setInputFiles('#composer-file-input', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MAX_BYTES + 10_000, 1) });
    const failed = annPage.locator('#composer-files .file-chip[data-status=failed]');
    await failed.waitFor({ timeout: 20_000 });
    expect(await failed.locator('[role=alert]').textContent()).toContain('big.bin is too large');
    expect(await annPage.inputValue('#message-input')).toBe('keep this text');
    await failed.locator('button[aria-label="Remove big.bin"]').click();
    await expect.poll(() => annPage.locator('#composer-files').count()).toBe(0);
    expect(await annPage.inputValue('#message-input')).toBe('keep this text');
  });
});
