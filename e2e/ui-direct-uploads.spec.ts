// Direct uploads in the web client against a real S3-compatible server (s3rver, its own process, with
// the bucket CORS rule docs/deploy.md asks for): Ann pastes an image; the browser PUTs its bytes
// straight to s3rver (never through admin), the chip shows the transfer's progress, admin completes it,
// and Bob sees the thumbnail live. A direct upload cancelled from its chip leaves nothing behind: no
// object in the bucket, its row discarded at once. The PUT goes to a staging key, not the one served.
// Without a CORS rule for Parley's origin the upload is not lost: the browser gets no answer to the PUT
// and falls back, once, to the multipart POST through admin. The pages' CSP names the bucket's origin. Over a
// real chat socket, a message of files only none of which can be linked is refused, never stored empty.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Request } from 'playwright-core';
import sharp from 'sharp';
import { createTestDatabase, startS3Server, startStack, type S3Server, type Stack, type TestDatabase } from '@parley/devtools';
import { launchBrowser, logIn, openChat, pasteFile } from './support/browser.ts';
import { PageJar } from './support/pages.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

let db: TestDatabase;
let s3: S3Server;
let stack: Stack;
let browser: Browser;
let pages: PageJar;
let annPage: Page;
let bobPage: Page;
let room = 0;
let annHttp: PanelClient;
let bobHttp: PanelClient;
/** Every request Ann's page made, in order. */
const annRequests: Request[] = [];

beforeAll(async () => {
  db = await createTestDatabase('e2e_direct_uploads');
  s3 = await startS3Server();
  stack = await startStack({
    databaseUrl: db.url,
    storage: { s3: { endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true, presignedUploads: true } },
    adminEnv: { LOG_LEVEL: 'warn' },
    chatEnv: { LOG_LEVEL: 'warn' },
  });
  // Only Parley's origin may PUT (known once the stack is up).
  await s3.allowBrowserUploads([stack.adminUrl]);

  const ann = newUser('ann');
  const bob = newUser('bob');
  annHttp = new PanelClient(stack.adminUrl);
  await annHttp.signUp(ann);
  bobHttp = new PanelClient(stack.adminUrl);
  await bobHttp.signUp(bob);
  room = await annHttp.createRoom(`Direct ${Date.now().toString(36)}`, 'private');
  expect((await annHttp.postForm(`/rooms/${room}/invite`, { handle: bob.handle }, `/rooms/${room}`)).status).toBeLessThan(400);

  browser = await launchBrowser();
  pages = new PageJar(browser, stack);
  annPage = await pages.open();
  bobPage = await pages.open();
  annPage.on('request', (r) => annRequests.push(r));
  await logIn(annPage, stack.adminUrl, ann.email, ann.password);
  await logIn(bobPage, stack.adminUrl, bob.email, bob.password);
  await openChat(room, annPage, bobPage);
}, 180_000);

afterAll(async () => {
  await pages?.closeAll();
  await browser?.close();
  await stack?.stop();
  await s3?.stop();
  await db?.drop();
});

/** A gate a routed request waits at until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

const s3Origin = () => new URL(s3.endpoint).origin;
const adminOrigin = () => new URL(stack.adminUrl).origin;
const objectStatus = async (key: string) => (await fetch(`${s3.endpoint}/${s3.bucket}/${key}`)).status;

describe('direct uploads to the bucket', () => {
  it('the pages may connect to the bucket: its origin is in connect-src', async () => {
    const res = await fetch(`${stack.adminUrl}/login`);
    const connectSrc = (res.headers.get('content-security-policy') ?? '').split(';').map((d) => d.trim()).find((d) => d.startsWith('connect-src')) ?? '';
    expect(connectSrc.split(' ')).toContain(s3Origin());
    expect(connectSrc).not.toContain('*');
  });

  it('a pasted image goes straight to s3rver with progress shown, is completed by admin, and Bob sees its thumbnail', { timeout: 120_000 }, async () => {
    // Noise does not compress: a few hundred KB for the PUT to carry.
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#888', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
    const from = annRequests.length;
    // Hold admin's complete step, so the chip is seen still uploading after the PUT ended.
    const completing = gate();
    let completeHeld = false;
    await annPage.route('**/api/attachments/*/complete', async (route) => {
      completeHeld = true;
      await completing.wait;
      await route.continue();
    });
    await pasteFile(annPage, { name: 'noise.png', type: 'image/png', bytes: png });
    const chip = annPage.locator('#composer-files .file-chip', { hasText: 'noise.png' });
    await expect.poll(() => completeHeld, { timeout: 20_000 }).toBe(true);
    // The bytes are all up (the PUT's own progress events moved the bar), the upload is not finished yet.
    expect(await chip.getAttribute('data-status')).toBe('uploading');
    const bar = chip.locator('progress');
    expect(await bar.getAttribute('aria-label')).toBe('Uploading noise.png');
    expect(await bar.evaluate((el: HTMLProgressElement) => el.value)).toBe(1);
    completing.open();
    await chip.locator('xpath=self::*[@data-status="ready"]').waitFor({ timeout: 20_000 });
    await annPage.unroute('**/api/attachments/*/complete');

    const made = annRequests.slice(from).map((r) => ({ method: r.method(), origin: new URL(r.url()).origin, path: new URL(r.url()).pathname }));
    const put = made.find((r) => r.method === 'PUT');
    expect(put).toMatchObject({ origin: s3Origin() }); // the bytes went to the bucket…
    expect(put!.path).toMatch(new RegExp(`^/${s3.bucket}/uploads/[0-9a-f-]{36}$`)); // a staging key, never the one served
    expect(made.filter((r) => r.origin === adminOrigin() && r.method === 'POST').map((r) => r.path))
      .toEqual([`/api/rooms/${room}/attachments/direct`, expect.stringMatching(/^\/api\/attachments\/[0-9a-f-]{36}\/complete$/) as string]); // …and never through admin
    const { rows } = await db.pool.query<{ id: string; upload_key: string; storage_key: string; state: string; image_width: number }>("SELECT id, upload_key, storage_key, state, image_width FROM attachments WHERE name = 'noise.png'");
    expect(rows).toEqual([{ id: expect.any(String) as string, upload_key: put!.path.slice(`/${s3.bucket}/`.length), storage_key: `rooms/${room}/${rows[0]!.id}`, state: 'ready', image_width: 400 }]);
    expect(await objectStatus(rows[0]!.upload_key)).toBe(404); // copied to the served key at /complete, then deleted

    await annPage.press('#message-input', 'Enter'); // the image alone is the message
    await annPage.locator('#composer-files').waitFor({ state: 'detached' });
    const image = bobPage.locator('#messages li[data-seq] .attachment-image').last();
    await image.waitFor({ timeout: 15_000 });
    const img = image.locator('img');
    expect([await img.getAttribute('width'), await img.getAttribute('height'), await img.getAttribute('alt')]).toEqual(['320', '240', 'noise.png']);
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('a direct upload cancelled from its chip leaves nothing behind: no object, its row discarded', { timeout: 60_000 }, async () => {
    const from = annRequests.length;
    // Hold the PUT to the bucket so the upload stays in progress; only the browser's abort ends it.
    let putHeld = false;
    await annPage.route(`${s3Origin()}/**`, (route) => {
      if (route.request().method() === 'PUT') putHeld = true;
      else void route.continue();
    });
    await annPage.setInputFiles('#composer-file-input', { name: 'cancelled.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(50_000, 3) });
    const uploading = annPage.locator('#composer-files .file-chip[data-status=uploading]', { hasText: 'cancelled.bin' });
    await uploading.waitFor();
    await expect.poll(() => putHeld, { timeout: 20_000 }).toBe(true);
    await uploading.locator('button[aria-label="Cancel the upload of cancelled.bin"]').click();
    await expect.poll(() => annPage.locator('#composer-files').count()).toBe(0);
    await annPage.unroute(`${s3Origin()}/**`);

    // The client discarded it at once (not left for the day-long sweep of unsent uploads).
    const discard = annRequests.slice(from).find((r) => r.method() === 'DELETE');
    expect(new URL(discard!.url()).pathname).toMatch(/^\/api\/attachments\/[0-9a-f-]{36}$/);
    await expect.poll(async () => (await db.pool.query<{ deleted: boolean }>("SELECT deleted_at IS NOT NULL AS deleted FROM attachments WHERE name = 'cancelled.bin'")).rows, { timeout: 10_000 })
      .toEqual([{ deleted: true }]);
    const { rows } = await db.pool.query<{ storage_key: string; upload_key: string }>("SELECT storage_key, upload_key FROM attachments WHERE name = 'cancelled.bin'");
    for (const key of [rows[0]!.storage_key, rows[0]!.upload_key]) expect(await objectStatus(key)).toBe(404);
    // Nothing counts against Ann's storage.
    expect((await db.pool.query("SELECT 1 FROM attachments WHERE name = 'cancelled.bin' AND deleted_at IS NULL")).rowCount).toBe(0);
  });

  it('a bucket without a CORS rule for Parley (the PUT gets no answer) does not lose the upload: it goes once through admin, the direct row discarded', { timeout: 60_000 }, async () => {
    const from = annRequests.length;
    // A deployment upgraded without the bucket rule docs/deploy.md asks for: the browser blocks the PUT.
    await s3.allowBrowserUploads(['https://somewhere-else.example']);
    try {
      await annPage.setInputFiles('#composer-file-input', { name: 'no-cors.txt', mimeType: 'text/plain', buffer: Buffer.from('through admin after all') });
      const chip = annPage.locator('#composer-files .file-chip', { hasText: 'no-cors.txt' });
      await chip.locator('xpath=self::*[@data-status="ready"]').waitFor({ timeout: 20_000 });
    } finally {
      await s3.allowBrowserUploads([stack.adminUrl]);
    }
    const made = annRequests.slice(from).map((r) => ({ method: r.method(), origin: new URL(r.url()).origin, path: new URL(r.url()).pathname + new URL(r.url()).search }));
    // The fetch of the DELETE and the XHR of the fallback start together: their order is not asserted.
    const toAdmin = made.filter((r) => r.origin === adminOrigin() && r.method !== 'GET').map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/, ':id')}`);
    expect(toAdmin[0]).toBe(`POST /api/rooms/${room}/attachments/direct`);
    expect(toAdmin.slice(1).sort()).toEqual(['DELETE /api/attachments/:id', `POST /api/rooms/${room}/attachments?fallback=direct`]);
    const { rows } = await db.pool.query<{ deleted: boolean; direct: boolean; state: string }>(
      "SELECT deleted_at IS NOT NULL AS deleted, upload_key IS NOT NULL AS direct, state FROM attachments WHERE name = 'no-cors.txt' ORDER BY created_at",
    );
    expect(rows).toEqual([{ deleted: true, direct: true, state: 'pending' }, { deleted: false, direct: false, state: 'ready' }]);
    await annPage.press('#message-input', 'Enter');
    await annPage.locator('#composer-files').waitFor({ state: 'detached' });
    await bobPage.locator('#messages li[data-seq]', { hasText: 'no-cors.txt' }).last().waitFor({ timeout: 15_000 });
  });

  it('over the chat socket: a message of files only whose ids cannot be linked is refused (nothing stored); once stored, its resend is a duplicate', { timeout: 60_000 }, async () => {
    /** A direct upload as the browser makes it (start, PUT to the bucket, complete), by `who`; its id. */
    const uploaded = async (who: PanelClient, name: string): Promise<string> => {
      const headers = { 'x-csrf-token': await who.csrf('/rooms'), 'content-type': 'application/json' };
      const bytes = Buffer.from(`bytes of ${name}`);
      const start = await who.request(`/api/rooms/${room}/attachments/direct`, { method: 'POST', headers, body: JSON.stringify({ name, type: 'text/plain', size: bytes.length }) });
      const { attachment, upload } = (await start.json()) as { attachment: { id: string }; upload: { url: string; headers: Record<string, string> } };
      expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes })).status).toBe(200);
      expect((await who.request(`/api/attachments/${attachment.id}/complete`, { method: 'POST', headers: { 'x-csrf-token': headers['x-csrf-token'] } })).status).toBe(200);
      return attachment.id;
    };
    const bobs = await uploaded(bobHttp, 'bobs.txt');
    const sock = await TestSocket.open(stack.chats[0]!.wsUrl, await annHttp.chatToken(), { origin: stack.adminUrl });
    try {
      await sock.next('hello');
      sock.send({ type: 'join', room });
      const { lastSeq } = await sock.next('joined', (f) => f.room.id === room);
      const clientId = `files-only-${randomUUID()}`;
      sock.send({ type: 'send', room, clientId, body: ' ', attachments: [bobs, randomUUID()] }); // Bob's upload, and one that does not exist
      const refused = await sock.next('error', (f) => f.ref === clientId);
      expect(refused).toMatchObject({ code: 'not_found', room, message: expect.stringMatching(/none of the attached files can be sent.*not stored/) as string });
      expect((await db.pool.query('SELECT 1 FROM messages WHERE client_msg_id = $1', [clientId])).rowCount).toBe(0);
      expect(Number((await db.pool.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE id = $1', [room])).rows[0]!.last_seq)).toBe(lastSeq);

      const mine = await uploaded(annHttp, 'mine.txt');
      sock.send({ type: 'send', room, clientId, body: '', attachments: [mine] });
      const stored = await sock.next('ack', (f) => f.clientId === clientId);
      expect(stored).toMatchObject({ duplicate: false, seq: lastSeq + 1 });
      sock.send({ type: 'send', room, clientId, body: '', attachments: [mine] }); // the same send again (its upload is now sent)
      const again = await sock.next('ack', (f) => f.clientId === clientId && f.duplicate);
      expect(again.seq).toBe(stored.seq);
    } finally {
      sock.close();
    }
  });
});
