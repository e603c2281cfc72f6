// axe-core in Chromium on every kind of page (chat room with sidebar and details, rooms, profile, admin,
// sign-in) in light and dark: no serious or critical violation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '@parley/devtools';
import { waitConnected } from './support/browser.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';
import sharp from 'sharp';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ADMIN = { email: 'a11y-admin@example.test', password: 'admin password for a11y tests' };

const test = e2eTest({
  label: 'ui_a11y',
  stack: { chatEnv: { LOG_LEVEL: 'warn' }, adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password } },
});
let stack: Stack;
let browser: Browser;
let roomId = 0;
let privateId = 0;
const user = newUser('ann');

test.beforeAll(async ({ stack: s, browser: b }) => {
  stack = s;
  browser = b;
  const ann = new PanelClient(stack.adminUrl);
  await ann.signUp(user);
  const bob = new PanelClient(stack.adminUrl);
  const bobUser = newUser('bob');
  await bob.signUp(bobUser);
  roomId = await bob.createRoom('Accessible room');
  privateId = await ann.createRoom('Private corner', 'private');
  await ann.request(`/rooms/${roomId}`, { headers: { accept: 'text/html' } });
  const sock = await TestSocket.open(stack.chats[0]!.wsUrl, await bob.chatToken(), { origin: stack.adminUrl });
  await sock.next('hello');
  sock.send({ type: 'join', room: roomId });
  for (const [i, body] of [`Hello @${user.handle}, **welcome**`, 'A list:\n- one\n- two', 'Code: `x = 1` and https://example.com', '> quoted'].entries()) {
    sock.send({ type: 'send', room: roomId, clientId: `a11y${i}`, body });
    await sock.next('ack', (f) => f.clientId === `a11y${i}`);
  }
  // A message with an image and a file: thumbnails and download cards are checked too.
  const files: string[] = [];
  for (const [name, type, bytes] of [
    ['photo.png', 'image/png', await sharp({ create: { width: 300, height: 200, channels: 3, background: '#48c' } }).png().toBuffer()],
    ['notes.txt', 'text/plain', Buffer.from('notes')],
  ] as const) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
    const res = await bob.request(`/api/rooms/${roomId}/attachments`, { method: 'POST', headers: { 'x-csrf-token': await bob.csrf('/rooms') }, body: form });
    files.push(((await res.json()) as { id: string }).id);
  }
  sock.send({ type: 'send', room: roomId, clientId: 'a11y-files', body: 'Two files', attachments: files });
  await sock.next('ack', (f) => f.clientId === 'a11y-files');
  sock.close();
});

async function serious(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

async function logIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/login');
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

describe.each(['light', 'dark'] as const)('axe-core, %s mode', (scheme) => {
  it('chat room (sidebar, conversation, details), private room, rooms, profile, sign-in: no serious or critical violation', async () => {
    const ctx = await browser.newContext({ baseURL: stack.adminUrl, bypassCSP: true, colorScheme: scheme, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const found: Record<string, string[]> = {};
    await page.goto('/login');
    found.login = await serious(page);
    await logIn(page, user);
    await page.goto(`/chat/${roomId}`);
    await waitConnected(page);
    await page.locator('#messages li[data-seq]').first().waitFor();
    await page.locator('#messages .attachment-image img').waitFor();
    found.chat = await serious(page);
    // A file attached to the draft: its chip (and, after it, the composer) stays labelled.
    await page.setInputFiles('#composer-file-input', { name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.from('draft') });
    await page.locator('#composer-files .file-chip[data-status=ready]').waitFor();
    found.composerFiles = await serious(page);
    await page.keyboard.press('Control+k');
    await page.locator('#switcher-input').waitFor();
    found.switcher = await serious(page);
    await page.keyboard.press('Escape');
    await page.goto(`/chat/${privateId}`);
    await waitConnected(page);
    found.private = await serious(page);
    for (const path of ['/rooms', '/profile']) {
      await page.goto(path);
      found[path] = await serious(page);
    }
    await ctx.close();
    expect(found).toEqual({ login: [], chat: [], composerFiles: [], switcher: [], private: [], '/rooms': [], '/profile': [] });
  });

  it('admin pages: no serious or critical violation', async () => {
    const ctx = await browser.newContext({ baseURL: stack.adminUrl, bypassCSP: true, colorScheme: scheme, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await logIn(page, ADMIN);
    const found: Record<string, string[]> = {};
    for (const path of ['/admin/users', '/admin/rooms', `/admin/rooms/${roomId}`, '/admin/moderation', '/admin/audit', '/admin/storage', '/admin/dashboard']) {
      await page.goto(path);
      found[path] = await serious(page);
    }
    await ctx.close();
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });
});

describe('theme and quick switcher', () => {
  it('the top bar toggle cycles system → light → dark, applies at once and survives a reload', async () => {
    const ctx = await browser.newContext({ baseURL: stack.adminUrl, colorScheme: 'light' });
    const page = await ctx.newPage();
    await logIn(page, user);
    await page.goto('/profile');
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    expect(await page.getAttribute('#theme-toggle', 'aria-label')).toBe('Colour theme: system. Change');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    const dark = await background();
    expect(dark).not.toBe(light);
    await page.reload();
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await background()).toBe(dark);
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBeNull();
    expect(await background()).toBe(light);
    await ctx.close();
  });

  it('Ctrl-K opens the quick switcher; typing filters; Enter opens the conversation without a page load', async () => {
    const ctx = await browser.newContext({ baseURL: stack.adminUrl, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await logIn(page, user);
    await page.goto(`/chat/${roomId}`);
    await waitConnected(page);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await page.keyboard.press('Control+k');
    await page.keyboard.type('corner');
    // The list filters as the letters arrive: wait for the last one's result.
    await expect.poll(async () => (await page.locator('#switcher-list [role=option]').allTextContents()).map((o) => o.trim())).toEqual(['Private corner']);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/chat/${privateId}`);
    await expect.poll(() => page.locator('#conversation-title').textContent()).toContain('Private corner');
    expect(await page.locator('dialog.switcher').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await ctx.close();
  });
});
