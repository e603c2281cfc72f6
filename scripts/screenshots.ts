// `npm run screenshots`: starts a throwaway stack (own database and Redis prefix), fills it with a few
// people, rooms and messages, and photographs every page in light, dark and mobile (390×844) into
// docs/screenshots/, then writes docs/screenshots/README.md (the gallery docs/ui.md links to).
// Needs Postgres and Redis as in CI (TEST_PG_URL / TEST_REDIS_URL) and Chromium at /usr/bin/chromium.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { createTestDatabase, dropRedisPrefix, startStack, testRedisPrefix, TEST_REDIS_URL } from '@parley/devtools';
import { PanelClient } from '../e2e/support/http.ts';
import { TestSocket } from '../e2e/support/ws-client.ts';

const OUT = resolve('docs/screenshots');
const ADMIN = { email: 'admin@example.test', password: 'admin password for screenshots' };
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;

type Variant = 'light' | 'dark' | 'mobile';
const VARIANTS: Variant[] = ['light', 'dark', 'mobile'];
const shots: Array<{ name: string; title: string; variant: Variant; file: string }> = [];

const people = {
  ann: { email: 'ann@example.test', handle: 'ann', displayName: 'Ann Lee', password: 'correct horse battery staple' },
  bob: { email: 'bob@example.test', handle: 'bob', displayName: 'Bob Marley', password: 'correct horse battery staple' },
  cleo: { email: 'cleo@example.test', handle: 'cleo', displayName: 'Cleo Díaz', password: 'correct horse battery staple' },
};

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = await createTestDatabase('screenshots');
  const prefix = testRedisPrefix('screenshots');
  const stack = await startStack({
    databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix: prefix,
    adminEnv: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'warn' },
    chatEnv: { LOG_LEVEL: 'warn' },
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const sockets: TestSocket[] = [];
  try {
    // People, rooms, a DM, and a conversation with markdown, mentions, a reply, reactions and yesterday's messages.
    const panels: Record<keyof typeof people, PanelClient> = { ann: new PanelClient(stack.adminUrl), bob: new PanelClient(stack.adminUrl), cleo: new PanelClient(stack.adminUrl) };
    for (const [key, p] of Object.entries(people)) await panels[key as keyof typeof people].signUp(p);
    // #general exists from the start (migration 0008) and everyone who signs up is in it.
    const general = Number((await db.pool.query<{ id: number }>(`SELECT id FROM rooms WHERE auto_join AND lower(name) = 'general'`)).rows[0]!.id);
    await db.pool.query(`UPDATE rooms SET topic = 'Company-wide chatter and announcements' WHERE id = $1`, [general]);
    const design = await panels.cleo.createRoom('Design reviews');
    const secret = await panels.ann.createRoom('Launch plans', 'private');
    await panels.ann.postForm(`/rooms/${secret}/invite`, { handle: 'bob' }, `/rooms/${secret}`);
    await panels.ann.request(`/rooms/${general}`, { headers: { accept: 'text/html' } });
    await panels.ann.request(`/rooms/${design}`, { headers: { accept: 'text/html' } });
    await panels.cleo.request(`/rooms/${general}`, { headers: { accept: 'text/html' } });
    const dmRes = await panels.bob.postForm('/direct', { handle: 'ann' }, '/rooms');
    const dm = Number(/\/rooms\/(\d+)/.exec(dmRes.headers.get('location') ?? '')?.[1]);
    const groupRes = await panels.ann.postForm('/direct', { handle: '@bob @cleo' }, '/rooms');
    const group = Number(/\/rooms\/(\d+)/.exec(groupRes.headers.get('location') ?? '')?.[1]);

    const socketFor = async (who: keyof typeof people) => {
      const sock = await TestSocket.open(stack.chats[0]!.wsUrl, await panels[who].chatToken(), { origin: stack.adminUrl });
      sockets.push(sock);
      await sock.next('hello');
      return sock;
    };
    const say = async (sock: TestSocket, room: number, body: string, extra: { replyTo?: number; attachments?: string[] } = {}): Promise<number> => {
      const clientId = `s${Math.random().toString(36).slice(2)}`;
      sock.send({ type: 'join', room });
      sock.send({ type: 'send', room, clientId, body, ...extra });
      return (await sock.next('ack', (f) => f.clientId === clientId)).seq;
    };
    const react = async (sock: TestSocket, room: number, seq: number, emoji: string) => {
      sock.send({ type: 'react', room, seq, emoji, on: true });
      await sock.next('reacted', (f) => f.seq === seq && f.emoji === emoji);
    };
    const bob = await socketFor('bob');
    const cleo = await socketFor('cleo');
    const ann = await socketFor('ann');
    await say(bob, general, 'Morning all! The release train leaves at **15:00** today.');
    await say(cleo, general, 'Great — I pushed the new icons yesterday.');
    await say(cleo, general, 'See https://example.com/icons for the full set.');
    await say(ann, general, 'Thanks both. Checklist:\n- [x] changelog\n- tests green\n- `npm run build`');
    await db.pool.query(`UPDATE messages SET created_at = now() - interval '1 day' - (interval '1 minute' * (10 - seq)) WHERE room_id = $1`, [general]);
    const question = await say(bob, general, 'Quick one, @ann: can you review the *migration* before lunch?');
    // An image (drawn here: a small chart) and a file, uploaded as the composer does, then sent.
    const upload = async (who: keyof typeof people, room: number, name: string, type: string, bytes: Buffer) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
      const res = await panels[who].request(`/api/rooms/${room}/attachments`, { method: 'POST', headers: { 'x-csrf-token': await panels[who].csrf('/rooms') }, body: form });
      if (res.status !== 201) throw new Error(`upload of ${name}: HTTP ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    };
    const bars = [40, 65, 52, 80, 95, 120].map((h, i) => `<rect x="${40 + i * 90}" y="${300 - h * 2}" width="60" height="${h * 2}" rx="6" fill="#${['4f6bed', '5b8def', '36b37e', 'ffab00', 'ff7452', '8777d9'][i]}"/>`).join('');
    const chart = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="600" height="340"><rect width="600" height="340" fill="#f7f8fc"/>${bars}<text x="40" y="36" font-family="sans-serif" font-size="22" fill="#333">Weekly active rooms</text></svg>`)).png().toBuffer();
    await say(cleo, general, 'Usage is up again this week:', { attachments: [
      await upload('cleo', general, 'weekly-active-rooms.png', 'image/png', chart),
      await upload('cleo', general, 'weekly-report.csv', 'text/csv', Buffer.from('week,rooms\n1,40\n2,65\n3,52\n4,80\n5,95\n6,120\n')),
    ] });
    await say(cleo, general, '> ship it\nAgreed. Code block for reference:\n```\nSELECT count(*) FROM messages;\n```');
    await say(ann, general, 'On it, right after standup.', { replyTo: question });
    await react(cleo, general, question, '👍');
    await react(ann, general, question, '👍');
    await react(cleo, general, question, '🎉');
    await say(bob, general, 'مرحبا — right-to-left text gets dir="auto".');
    await say(bob, dm, 'Hey Ann, got a minute after standup?');
    await say(cleo, group, 'Lunch at noon, the three of us?');
    await say(bob, group, 'Yes — the usual place.');
    await say(cleo, design, 'New mockups are up, feedback welcome ~~by Friday~~ today!');
    await say(bob, secret, 'Launch date moved to the 14th.');
    for (const s of sockets) s.close();

    const adminPanel = new PanelClient(stack.adminUrl);
    await adminPanel.logIn(ADMIN.email, ADMIN.password);
    const bobId = (await db.pool.query<{ id: number }>(`SELECT id FROM users WHERE handle = 'bob'`)).rows[0]!.id;
    await adminPanel.postForm(`/admin/users/${bobId}/role`, { role: 'moderator' }, '/admin/users');

    for (const variant of VARIANTS) {
      const ctx = await newContext(browser, variant, stack.adminUrl);
      const page = await ctx.newPage();
      await shoot(page, variant, 'login', 'Log in', '/login');
      await shoot(page, variant, 'signup', 'Sign up', '/signup');
      await logIn(page, people.ann);
      await shoot(page, variant, 'rooms', 'Rooms directory', '/rooms');
      await shoot(page, variant, 'chat-room', 'Chat: a room with unread messages, a mention and markdown', `/chat/${general}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
        await page.locator('#messages li[data-seq]').first().waitFor();
        // The thumbnail (lazy: only once on screen; a short wait, not a failure, if it is scrolled away).
        await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('#messages .attachment-image img')).every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 3_000 }).catch(() => undefined);
      });
      await shoot(page, variant, 'chat-dm', 'Chat: a direct message', `/chat/${dm}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
      });
      await shoot(page, variant, 'chat-group', 'Chat: a group conversation (add people, leave)', `/chat/${group}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
        if (variant === 'mobile') await page.click('.details-toggle');
        await page.click('#leave-conversation');
      });
      await shoot(page, variant, 'chat-private', 'Chat: a private room with members and invitations', `/chat/${secret}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
        if (variant === 'mobile') await page.click('.details-toggle');
      });
      if (variant === 'mobile') {
        await shoot(page, variant, 'chat-drawer', 'Chat: the sidebar drawer', `/chat/${general}`, async () => {
          await page.locator('#conn-state[data-state=open]').waitFor();
          await page.click('#drawer-toggle');
          await page.waitForTimeout(300);
        });
      }
      await shoot(page, variant, 'chat-switcher', 'Chat: quick switcher (Ctrl/Cmd-K)', `/chat/${general}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
        await page.keyboard.press('Control+k');
        await page.fill('#switcher-input', 'de');
      });
      await shoot(page, variant, 'chat-composer-too-long', 'Chat: a message over the size limit is refused, text kept', `/chat/${design}`, async () => {
        await page.locator('#conn-state[data-state=open]').waitFor();
        await page.fill('#message-input', 'é'.repeat(3000));
        await page.press('#message-input', 'Enter');
        await page.locator('#composer-error', { hasText: 'limit' }).waitFor();
      });
      await shoot(page, variant, 'profile', 'Profile', '/profile');
      await ctx.close();

      const adminCtx = await newContext(browser, variant, stack.adminUrl);
      const adminPage = await adminCtx.newPage();
      await logIn(adminPage, ADMIN);
      await shoot(adminPage, variant, 'admin-users', 'Admin: users', '/admin/users');
      await shoot(adminPage, variant, 'admin-rooms', 'Admin: rooms', '/admin/rooms');
      await shoot(adminPage, variant, 'admin-moderation', 'Admin: moderation', '/admin/moderation');
      await shoot(adminPage, variant, 'admin-audit', 'Admin: audit log', '/admin/audit');
      await shoot(adminPage, variant, 'admin-dashboard', 'Admin: dashboard', '/admin/dashboard');
      await shoot(adminPage, variant, 'admin-storage', 'Admin: storage used per person and per room', '/admin/storage');
      await adminCtx.close();
    }
    writeGallery();
    console.error(`wrote ${shots.length} screenshots to ${OUT}`);
  } finally {
    for (const s of sockets) s.close();
    await browser.close();
    await stack.stop();
    await db.drop();
    await dropRedisPrefix(prefix);
  }
}

async function newContext(browser: Browser, variant: Variant, baseURL: string): Promise<BrowserContext> {
  return browser.newContext({
    baseURL,
    viewport: variant === 'mobile' ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    isMobile: variant === 'mobile',
    hasTouch: variant === 'mobile',
    colorScheme: variant === 'dark' ? 'dark' : 'light',
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
}

async function logIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/login');
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

async function shoot(page: Page, variant: Variant, name: string, title: string, path: string, prepare?: () => Promise<void>): Promise<void> {
  if (only && !name.startsWith(only)) return;
  await page.goto(path);
  await prepare?.();
  await page.waitForTimeout(150);
  const file = `${name}-${variant}.png`;
  // Pages scroll as a whole; the chat fills the viewport (its panes scroll inside).
  await page.screenshot({ path: join(OUT, file), fullPage: !name.startsWith('chat') });
  shots.push({ name, title, variant, file });
}

function writeGallery(): void {
  const names = [...new Map(shots.map((s) => [s.name, s.title])).entries()];
  const lines = [
    '# Screenshots',
    '',
    'Generated by `npm run screenshots` (scripts/screenshots.ts): do not edit by hand. Desktop shots are',
    '1280×800 (light and dark); mobile shots are 390×844. See [../ui.md](../ui.md) for the design.',
    '',
  ];
  for (const [name, title] of names) {
    lines.push(`## ${title}`, '');
    lines.push(VARIANTS.map((v) => shots.find((s) => s.name === name && s.variant === v)).filter(Boolean).map((s) => `![${title} (${s!.variant})](${s!.file})`).join('\n'), '');
  }
  writeFileSync(join(OUT, 'README.md'), `${lines.join('\n')}\n`);
}

await main();
