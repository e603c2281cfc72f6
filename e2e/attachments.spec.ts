// Attachments with real processes: two admin replicas sharing one S3-compatible store (s3rver in its own
// process) and two chat replicas. A file uploaded through one admin downloads from the other, survives a
// chat replica's restart, and stays out of reach of people outside its private room; in Chromium an
// HTML file is downloaded, never rendered, and an image opens inline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startS3Server, startStack, waitForPortFree, type S3Server, type Stack, type TestDatabase } from '@parley/devtools';
import sharp from 'sharp';
import { PanelClient, newUser } from './support/http.ts';
import { launchBrowser } from './support/browser.ts';

let db: TestDatabase;
let s3: S3Server;
let stack: Stack;

beforeAll(async () => {
  db = await createTestDatabase('e2e_attachments');
  s3 = await startS3Server();
  stack = await startStack({
    databaseUrl: db.url,
    chatReplicas: 2,
    extraAdmins: [{}],
    storage: { s3: { endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true, presignedUploads: true } },
    adminEnv: { LOG_LEVEL: 'warn' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
  await db?.drop();
});

/** Uploads a file into the room and links it to a message written directly in SQL (e2e/ui-attachments.spec.ts sends through chat). */
async function sendFile(client: PanelClient, roomId: number, name: string, type: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  const res = await client.request(`/api/rooms/${roomId}/attachments`, { method: 'POST', headers: { 'x-csrf-token': await client.csrf('/rooms') }, body: form });
  if (res.status !== 201) throw new Error(`upload of ${name}: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const { rows } = await db.pool.query<{ uploader_id: string }>('SELECT uploader_id FROM attachments WHERE id = $1', [id]);
  const seq = Number((await db.pool.query<{ last_seq: string }>('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [roomId])).rows[0]!.last_seq);
  await db.pool.query('INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)', [roomId, seq, rows[0]!.uploader_id, `att-${id}`, name]);
  await db.pool.query('UPDATE attachments SET message_seq = $2 WHERE id = $1', [id, seq]);
  return id;
}

async function signedUp(baseUrl: string, label: string): Promise<PanelClient> {
  const client = new PanelClient(baseUrl);
  await client.signUp(newUser(label));
  return client;
}

describe('attachments across replicas', () => {
  it('uploads through one admin, downloads through the other, still after a chat replica restarts; outsiders get 403', { timeout: 120_000 }, async () => {
    const owner = await signedUp(stack.adminUrl, 'owner');
    const outsider = await signedUp(stack.adminUrl, 'outsider');
    const roomId = await owner.createRoom(`Files ${Date.now().toString(36)}`, 'private');
    const bytes = Buffer.from('quarterly numbers\n'.repeat(1000));
    const id = await sendFile(owner, roomId, 'numbers.csv', 'text/csv', bytes);

    const download = async (client: PanelClient) => {
      const res = await client.request(`/api/attachments/${id}`);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
    };
    const first = await download(owner);
    expect(first.status).toBe(200);
    expect(first.body.equals(bytes)).toBe(true);
    expect(first.headers.get('content-disposition')).toMatch(/^attachment; filename="numbers.csv"/);
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    // The same browser through the second admin (same session store in Postgres, same bucket).
    const cookieHeader = ['parley_sid', 'parley_csrf'].map((n) => `${n}=${owner.cookie(n) ?? ''}`).join('; ');
    const other = await fetch(`${stack.extraAdmins[0]!.url}/api/attachments/${id}`, { headers: { cookie: cookieHeader } });
    expect(other.status).toBe(200);
    expect(Buffer.from(await other.arrayBuffer()).equals(bytes)).toBe(true);

    // A chat replica restarts (files are admin's and the store's: nothing to lose there).
    const replica = stack.chats[0]!;
    await replica.process.stop('SIGTERM', 10_000);
    await waitForPortFree(replica.port);
    await stack.startChat(0);
    const after = await download(owner);
    expect(after.status).toBe(200);
    expect(after.body.equals(bytes)).toBe(true);

    expect((await download(outsider)).status).toBe(403);
  });
  it('in Chromium: an HTML file is downloaded, never rendered; an image opens inline', { timeout: 120_000 }, async () => {
    const owner = await signedUp(stack.adminUrl, 'browser');
    const roomId = await owner.createRoom(`Browser files ${Date.now().toString(36)}`, 'public');
    const html = await sendFile(owner, roomId, 'evil.html', 'text/html', Buffer.from('<!doctype html><title>rendered</title><script>document.title = "script ran"</script><h1>hi</h1>'));
    const png = await sendFile(owner, roomId, 'dot.png', 'image/png', await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0a0' } }).png().toBuffer());
    const browser = await launchBrowser();
    try {
      const ctx = await browser.newContext({ acceptDownloads: true });
      const { hostname } = new URL(stack.adminUrl);
      await ctx.addCookies([{ name: 'parley_sid', value: owner.cookie('parley_sid')!, domain: hostname, path: '/' }]);
      const page = await ctx.newPage();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.goto(`${stack.adminUrl}/api/attachments/${html}`).catch((err: Error) => err), // Chromium aborts the navigation for a download
      ]);
      expect(download.suggestedFilename()).toBe('evil.html');
      expect(page.url()).not.toContain(html); // never navigated to it
      expect(await page.title()).not.toMatch(/rendered|script ran/);

      const image = await page.goto(`${stack.adminUrl}/api/attachments/${png}`);
      expect(image?.status()).toBe(200);
      expect(image?.headers()['content-type']).toBe('image/png');
      expect(await page.evaluate(() => document.images.length)).toBe(1); // Chromium's image viewer
    } finally {
      await browser.close();
    }
  });
});
