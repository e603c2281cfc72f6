// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  // playwright-core gives each launch a fresh temporary profile; the flags keep Chromium off the
  // (closed) network and let it run as root.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Screenshots go to test-results/screenshots (git-ignored): artifacts, not fixtures. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = resolve('test-results/screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Where login lands: the chat client (/chat, which then shows the last or first conversation, /chat/:id). */
export const LANDING = /\/chat(\/\d+)?$/;

/** Sign up through the real form, then log in (sign-up answers like the login page, see auth routes). */
export async function signUp(page: Page, baseUrl: string, user: { email: string; handle: string; displayName: string; password: string }): Promise<void> {
  await page.goto(`${baseUrl}/signup`);
  await page.fill('#email', user.email);
  await page.fill('#handle', user.handle);
  await page.fill('#displayName', user.displayName);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(/\/login\?signedup=1$/), page.click('button[type=submit]')]);
  await page.fill('#email', user.email);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(LANDING), page.click('button[type=submit]')]);
}

export async function logIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(LANDING), page.click('button[type=submit]')]);
}

/** Wait until the room page's chat connection is open. */
export async function waitConnected(page: Page, timeout = 15_000): Promise<void> {
  await page.locator('#conn-state[data-state=open]').waitFor({ timeout });
}

/** Creates a public room from the room directory as the page's user; returns its id. */
export async function createRoom(page: Page, name: string): Promise<number> {
  await page.goto('/rooms');
  await page.fill('#name', name);
  await Promise.all([page.waitForURL(/\/rooms\/\d+$/), page.click('#create-room button[type=submit]')]);
  return Number(/\/rooms\/(\d+)$/.exec(page.url())![1]);
}

/** Opens a room's conversation on each page (all navigations first), then waits until each is connected. */
export async function openChat(room: number, ...pages: Page[]): Promise<void> {
  for (const page of pages) await page.goto(`/chat/${room}`);
  for (const page of pages) await waitConnected(page);
}

/** Types a message into the open conversation's composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

/** Pastes a file into the open conversation's composer the way a browser does: a paste event carrying a DataTransfer. */
export async function pasteFile(page: Page, file: { name: string; type: string; bytes: Buffer }): Promise<void> {
  await page.evaluate(({ name, type, bytes }) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], name, { type }));
    document.querySelector('#message-input')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, { name: file.name, type: file.type, bytes: [...file.bytes] });
}
