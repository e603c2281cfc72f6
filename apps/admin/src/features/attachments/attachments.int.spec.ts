// Attachments end to end over app.inject(), once with the filesystem store and once with a real
// S3-compatible server (s3rver, its own process and port): upload and download, who may read (a
// non-member of a private room and a removed member get 403), files served so they never run on
// Parley's origin, images upright and without EXIF/GPS, the size limit, deletion through the sweeper,
// and storage usage for admins. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { createTestDatabase, startS3Server, type S3Server, type TestDatabase } from '@parley/devtools';
import { createLogger } from '@parley/logging';
import { buildApp } from '../../app.ts';
import { adminConfigSchema } from '../../config.ts';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import { ChatInternalClient } from '../chat/chat-client.ts';
import { MemoryAttemptLimiter } from '../auth/attempt-limiter.ts';
import { signIn, TEST_SECRETS, type Browser } from '../control/app-test-kit.ts';
import { actor, person, say, servicesFor, type TestServices } from '../control/service-test-kit.ts';
import { objectStoreFromConfig } from './storage/from-config.ts';
import type { ObjectStore } from './storage/storage.ts';
import { sweepAttachments } from './sweeper.ts';
import { URL_CLOCK_MARGIN_MS } from './attachment-repository.ts';
import { AttachmentService } from './service.ts';

const MAX_BYTES = 64 * 1024;

/** A multipart/form-data body with one file, as a browser's FormData would send it. */
function multipart(name: string, type: string, bytes: Buffer): { payload: Buffer; contentType: string } {
  const boundary = `----parley${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`;
  return { payload: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A landscape 64x32 JPEG that says "rotate 90°" (EXIF orientation 6) and carries a GPS position. */
async function photoWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'ParleyCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2404/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4000/100' } })
    .toBuffer();
}

for (const backend of ['fs', 's3'] as const) {
  describe(`attachments (${backend} store)`, () => {
    let db: TestDatabase;
    let s3: S3Server | null = null;
    let app: FastifyInstance;
    let s: TestServices;
    let store: ObjectStore;
    let storageDir = '';
    const who = {} as Record<'owner' | 'member' | 'outsider' | 'admin', Browser>;
    let privateRoom = 0;
    let publicRoom = 0;

    const upload = (b: Browser, roomId: number, name: string, type: string, bytes: Buffer): Promise<LightMyRequestResponse> => {
      const body = multipart(name, type, bytes);
      return app.inject({ method: 'POST', url: `/api/rooms/${roomId}/attachments`, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf, 'content-type': body.contentType }, payload: body.payload });
    };
    const get = (b: Browser, url: string) => app.inject({ method: 'GET', url, headers: { cookie: b.cookie } });
    /** Uploads and sends it in a message (what the chat send path will do), returning the attachment id. */
    const sent = async (b: Browser, roomId: number, name: string, type: string, bytes: Buffer): Promise<{ id: string; seq: number }> => {
      const res = await upload(b, roomId, name, type, bytes);
      expect(res.statusCode, res.body).toBe(201);
      const id = res.json<{ id: string }>().id;
      const seq = await say(db.pool, roomId, b.userId, `file ${name}`);
      expect(await s.attachments.linkToMessage(db.pool, [id], roomId, seq, b.userId)).toBe(1);
      return { id, seq };
    };

    beforeAll(async () => {
      db = await createTestDatabase(`admin_attachments_${backend}`);
      storageDir = mkdtempSync(join(tmpdir(), 'parley-attachments-'));
      if (backend === 's3') s3 = await startS3Server();
      const env = backend === 's3'
        ? { STORAGE_BACKEND: 's3', S3_BUCKET: s3!.bucket, S3_ENDPOINT: s3!.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: s3!.accessKeyId, S3_SECRET_ACCESS_KEY: s3!.secretAccessKey, S3_KEY_PREFIX: 'parley/' }
        : { STORAGE_BACKEND: 'fs', STORAGE_DIR: storageDir };
      const config = adminConfigSchema.parse({ NODE_ENV: 'test', DATABASE_URL: db.url, CHAT_INTERNAL_URL: 'http://127.0.0.1:9', ATTACHMENT_MAX_BYTES: String(MAX_BYTES), ...TEST_SECRETS, ...env });
      store = objectStoreFromConfig(config);
      const sessions = new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
      app = await buildApp({
        config, log: createLogger('admin', 'silent'), pool: db.pool, redis: null, sessions, storage: store,
        chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN, 300), loginFailures: new MemoryAttemptLimiter(60_000), registry: new Registry(),
      });
      await app.ready();
      s = servicesFor(db.pool, sessions);
      const [owner, member, outsider, admin] = [await person(s), await person(s), await person(s), await person(s, 'admin')];
      privateRoom = (await s.rooms.create({ name: 'Plans', topic: '', kind: 'private', createdBy: owner.id })).id;
      publicRoom = (await s.rooms.create({ name: 'Lobby', topic: '', kind: 'public', createdBy: owner.id })).id;
      await s.rooms.addMember(privateRoom, member.id);
      who.owner = await signIn(app, sessions, owner.id);
      who.member = await signIn(app, sessions, member.id);
      who.outsider = await signIn(app, sessions, outsider.id);
      who.admin = await signIn(app, sessions, admin.id);
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await s3?.stop();
      await db?.drop();
    });

    it('round-trips a file for members; a non-member of the private room gets 403, and so does a member once removed', async () => {
      const bytes = Buffer.from('minutes of the meeting\n'.repeat(100));
      const { id } = await sent(who.owner, privateRoom, 'minutes.txt', 'text/plain', bytes);

      const info = await get(who.member, `/api/attachments/${id}/info`);
      expect(info.json()).toMatchObject({ id, name: 'minutes.txt', contentType: 'text/plain', size: bytes.length, image: null, url: `/api/attachments/${id}` });
      const ok = await get(who.member, `/api/attachments/${id}`);
      expect(ok.statusCode).toBe(200);
      expect(ok.rawPayload.equals(bytes)).toBe(true);
      expect(ok.headers['content-disposition']).toBe(`attachment; filename="minutes.txt"; filename*=UTF-8''minutes.txt`);

      expect((await get(who.outsider, `/api/attachments/${id}`)).statusCode).toBe(403);
      expect((await get(who.outsider, `/api/attachments/${id}/info`)).statusCode).toBe(403);
      // Not signed in at all: no file either.
      expect((await app.inject({ method: 'GET', url: `/api/attachments/${id}` })).statusCode).toBe(401);

      expect(await s.roomService.removeMember(actor({ id: who.owner.userId }), (await s.rooms.findById(privateRoom))!, (await s.users.findById(who.member.userId))!)).toBe(true);
      expect((await get(who.member, `/api/attachments/${id}`)).statusCode).toBe(403);
      expect((await get(who.owner, `/api/attachments/${id}`)).statusCode).toBe(200);
      await s.rooms.addMember(privateRoom, who.member.userId);
    });

    it('serves HTML and SVG as downloads with nosniff and a sandboxing CSP, never rendered', async () => {
      const page = Buffer.from('<!doctype html><script>document.title = "pwned"</script>');
      const { id } = await sent(who.owner, publicRoom, 'evil.html', 'text/html', page);
      const res = await get(who.outsider, `/api/attachments/${id}`); // public room: anyone signed in may read
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-disposition']).toMatch(/^attachment; /);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("sandbox; default-src 'none'");

      const svg = await sent(who.owner, publicRoom, 'logo.svg', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'));
      const svgRes = await get(who.owner, `/api/attachments/${svg.id}`);
      expect(svgRes.headers['content-disposition']).toMatch(/^attachment; /);
      expect(svgRes.headers['content-type']).not.toMatch(/svg/); // claimed an image, did not decode as one
      expect((await get(who.owner, `/api/attachments/${svg.id}/info`)).json()).toMatchObject({ image: null });
    });

    it('stores images upright and without EXIF or GPS, with a thumbnail; both shown inline', async () => {
      const photo = await photoWithGps();
      const before = await sharp(photo).metadata();
      expect([before.width, before.height, before.orientation, Boolean(before.exif)]).toEqual([64, 32, 6, true]);
      expect(before.exif!.includes(Buffer.from('ParleyCam'))).toBe(true);
      // The GPS IFD pointer (tag 0x8825), in either byte order.
      expect(before.exif!.includes(Buffer.from([0x88, 0x25])) || before.exif!.includes(Buffer.from([0x25, 0x88]))).toBe(true);

      const { id } = await sent(who.owner, publicRoom, 'IMG_0001.jpg', 'application/octet-stream', photo);
      const info = (await get(who.owner, `/api/attachments/${id}/info`)).json<{ contentType: string; image: { width: number; height: number; thumbnailUrl: string } }>();
      expect(info.contentType).toBe('image/jpeg'); // from the bytes, not the browser's claim
      expect(info.image).toMatchObject({ width: 32, height: 64 });

      for (const url of [`/api/attachments/${id}`, info.image.thumbnailUrl]) {
        const res = await get(who.member, url);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-disposition']).toMatch(/^inline; /);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        const meta = await sharp(res.rawPayload).metadata();
        expect({ width: meta.width, height: meta.height, exif: meta.exif, orientation: meta.orientation, xmp: meta.xmp }).toEqual({ width: 32, height: 64, exif: undefined, orientation: undefined, xmp: undefined });
        expect(res.rawPayload.includes(Buffer.from('ParleyCam'))).toBe(false);
      }
    });

    it(`answers 413 above ATTACHMENT_MAX_BYTES (${MAX_BYTES}) and keeps nothing; exactly the limit is accepted`, async () => {
      const atLimit = await upload(who.owner, publicRoom, 'exact.bin', 'application/octet-stream', Buffer.alloc(MAX_BYTES, 1));
      expect(atLimit.statusCode, atLimit.body).toBe(201);
      const { rows: beforeRows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM attachments WHERE deleted_at IS NULL');
      const tooBig = await upload(who.owner, publicRoom, 'big.bin', 'application/octet-stream', Buffer.alloc(MAX_BYTES + 1, 2));
      expect(tooBig.statusCode).toBe(413);
      expect(tooBig.json<{ error: string }>().error).toMatch(/at most 64 KB/);
      const { rows: afterRows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM attachments WHERE deleted_at IS NULL');
      expect(afterRows[0]!.n).toBe(beforeRows[0]!.n);
      const { rows: doomed } = await db.pool.query<{ storage_key: string }>("SELECT storage_key FROM attachments WHERE name = 'big.bin'");
      expect(doomed).toHaveLength(1);
      expect(await store.head(doomed[0]!.storage_key)).toBeNull();
      if (backend === 'fs') expect(readdirSync(join(storageDir, 'rooms', String(publicRoom))).filter((f) => f.startsWith('.partial-'))).toEqual([]);
    });

    if (backend === 'fs') {
      it('keeps no file open after non-image uploads (the image check stops after the first bytes)', async () => {
        const openFiles = () => readdirSync('/proc/self/fd').length;
        const bytes = Buffer.from('plain text, not an image\n'.repeat(2000)); // larger than one read
        expect((await upload(who.owner, publicRoom, 'warm.txt', 'text/plain', bytes)).statusCode).toBe(201);
        const before = openFiles();
        for (let i = 0; i < 30; i++) expect((await upload(who.owner, publicRoom, `n${i}.txt`, 'text/plain', bytes)).statusCode).toBe(201);
        await new Promise((resolve) => setTimeout(resolve, 50)); // closing a read stream's fd is asynchronous
        // Each leaked upload would hold one descriptor; allow a few for unrelated sockets of this process.
        expect(openFiles() - before).toBeLessThan(10);
      });
    }

    it('refuses uploads from people who may not post there: non-members of a private room, muted people', async () => {
      expect((await upload(who.outsider, privateRoom, 'x.txt', 'text/plain', Buffer.from('x'))).statusCode).toBe(404);
      await s.rooms.setMutedUntil(publicRoom, who.member.userId, new Date(Date.now() + 60_000));
      expect((await upload(who.member, publicRoom, 'x.txt', 'text/plain', Buffer.from('x'))).statusCode).toBe(403);
      await s.rooms.setMutedUntil(publicRoom, who.member.userId, null);
      // Without the CSRF header (a cross-site form post): refused before anything is stored.
      const body = multipart('x.txt', 'text/plain', Buffer.from('x'));
      const forged = await app.inject({ method: 'POST', url: `/api/rooms/${publicRoom}/attachments`, headers: { cookie: who.owner.cookie, 'content-type': body.contentType }, payload: body.payload });
      expect(forged.statusCode).toBe(403);
    });

    it('deleting a message (moderator, or its author in chat) deletes its files from the store via the sweeper', async () => {
      const photo = await sent(who.owner, publicRoom, 'pic.jpg', 'image/jpeg', await photoWithGps());
      const doc = await sent(who.owner, publicRoom, 'doc.txt', 'text/plain', Buffer.from('bye'));
      const keep = await sent(who.owner, publicRoom, 'keep.txt', 'text/plain', Buffer.from('stays'));
      const keysOf = async (id: string) => {
        const { rows } = await db.pool.query<{ storage_key: string; thumbnail_key: string | null }>('SELECT storage_key, thumbnail_key FROM attachments WHERE id = $1', [id]);
        return rows[0] ? [rows[0].storage_key, ...(rows[0].thumbnail_key ? [rows[0].thumbnail_key] : [])] : [];
      };
      const photoKeys = await keysOf(photo.id);
      expect(photoKeys).toHaveLength(2);
      const docKeys = await keysOf(doc.id);
      for (const key of [...photoKeys, ...docKeys]) expect(await store.head(key)).not.toBeNull();

      const staff = { id: who.admin.userId, role: 'admin' as const };
      expect(await s.moderation.deleteMessage(actor(staff), staff, publicRoom, photo.seq)).toBe(true);
      expect((await get(who.owner, `/api/attachments/${photo.id}`)).statusCode).toBe(404); // gone at once for readers
      // Chat deletes its author's messages without admin: the sweeper notices the deleted message.
      await db.pool.query('UPDATE messages SET deleted_at = now() WHERE room_id = $1 AND seq = $2', [publicRoom, doc.seq]);

      await sweepAttachments(s.attachments, store, 24 * 3600_000);
      for (const key of [...photoKeys, ...docKeys]) expect(await store.head(key)).toBeNull();
      const { rows } = await db.pool.query('SELECT id FROM attachments WHERE id = ANY($1::uuid[])', [[photo.id, doc.id]]);
      expect(rows).toEqual([]);
      expect((await get(who.owner, `/api/attachments/${keep.id}`)).statusCode).toBe(200);
      // A second pass has nothing left to do, and does not fail.
      expect(await sweepAttachments(s.attachments, store, 24 * 3600_000)).toBe(0);
    });

    it('sweeps uploads never sent, and only their uploader sees them meanwhile', async () => {
      const res = await upload(who.member, publicRoom, 'draft.txt', 'text/plain', Buffer.from('draft'));
      const id = res.json<{ id: string }>().id;
      expect((await get(who.member, `/api/attachments/${id}`)).statusCode).toBe(200);
      expect((await get(who.owner, `/api/attachments/${id}`)).statusCode).toBe(404);
      const { rows } = await db.pool.query<{ storage_key: string }>('SELECT storage_key FROM attachments WHERE id = $1', [id]);
      await db.pool.query("UPDATE attachments SET created_at = now() - interval '2 days' WHERE id = $1", [id]);
      await sweepAttachments(s.attachments, store, 24 * 3600_000);
      expect(await store.head(rows[0]!.storage_key)).toBeNull();
    });

    it('shows admins the storage used per person and per room (and nobody else)', async () => {
      const bytes = Buffer.alloc(5000, 7);
      await sent(who.member, privateRoom, 'usage.bin', 'application/octet-stream', bytes);
      const res = await get(who.admin, '/admin/api/storage');
      expect(res.statusCode).toBe(200);
      const usage = res.json<{ byUser: Array<{ id: number; files: number; bytes: number }>; byRoom: Array<{ id: number; label: string; files: number; bytes: number }> }>();
      const { rows } = await db.pool.query<{ uploader_id: string; room_id: string; bytes: string }>(
        'SELECT uploader_id, room_id, size_bytes + thumbnail_bytes AS bytes FROM attachments WHERE deleted_at IS NULL',
      );
      const sum = (pred: (r: (typeof rows)[number]) => boolean) => rows.filter(pred).reduce((n, r) => n + Number(r.bytes), 0);
      expect(usage.byUser.find((u) => u.id === who.member.userId)?.bytes).toBe(sum((r) => Number(r.uploader_id) === who.member.userId));
      expect(usage.byUser.find((u) => u.id === who.member.userId)!.bytes).toBeGreaterThanOrEqual(5000);
      expect(usage.byRoom.find((r) => r.id === privateRoom)).toMatchObject({ label: 'Plans', bytes: sum((r) => Number(r.room_id) === privateRoom) });
      expect((await get(who.owner, '/admin/api/storage')).statusCode).toBe(403);

      // The same numbers on the admin panel's Storage page, linked from the admin tabs.
      const pageRes = await get(who.admin, '/admin/storage');
      expect(pageRes.statusCode).toBe(200);
      expect(pageRes.body).toContain('href="/admin/storage" aria-current="page"');
      const roomRow = /<table id="storage-by-room">[\s\S]*?<\/table>/.exec(pageRes.body)?.[0] ?? '';
      expect(roomRow).toContain(`href="/admin/rooms/${privateRoom}">Plans</a>`);
      expect(/<table id="storage-by-user">[\s\S]*?<\/table>/.exec(pageRes.body)?.[0]).toContain(`title="${usage.byUser.find((u) => u.id === who.member.userId)!.bytes.toLocaleString('en')} bytes"`);
      expect((await get(who.owner, '/admin/storage')).statusCode).toBe(403);
    });

    it(backend === 's3' ? 'uploads straight to the bucket with a presigned PUT, then completes' : 'offers no direct upload (the filesystem store takes uploads through admin)', async () => {
      const bytes = Buffer.from('direct upload bytes');
      const start = await app.inject({
        method: 'POST', url: `/api/rooms/${privateRoom}/attachments/direct`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'direct.txt', type: 'text/plain', size: bytes.length }),
      });
      if (backend === 'fs') {
        expect(start.json()).toEqual({ attachment: null, upload: null });
        return;
      }
      expect(start.statusCode, start.body).toBe(201);
      const { attachment, upload: target } = start.json<{ attachment: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } }>();
      expect(target.url.startsWith(s3!.endpoint)).toBe(true);
      expect(target.url).toContain('X-Amz-Signature=');
      const early = await app.inject({ method: 'POST', url: `/api/attachments/${attachment.id}/complete`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf } });
      expect(early.statusCode).toBe(409);
      const put = await fetch(target.url, { method: 'PUT', headers: target.headers, body: bytes });
      expect(put.status).toBe(200);
      const done = await app.inject({ method: 'POST', url: `/api/attachments/${attachment.id}/complete`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf } });
      expect(done.statusCode, done.body).toBe(200);
      expect(done.json()).toMatchObject({ id: attachment.id, state: 'ready', size: bytes.length });
      expect((await get(who.member, `/api/attachments/${attachment.id}`)).rawPayload.equals(bytes)).toBe(true);
      // Announcing more than the limit is refused before any URL is signed.
      const tooBig = await app.inject({
        method: 'POST', url: `/api/rooms/${privateRoom}/attachments/direct`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'big.bin', size: MAX_BYTES + 1 }),
      });
      expect(tooBig.statusCode).toBe(413);
    });
    if (backend === 's3') {
      it('a cancelled direct upload is discarded at once; its objects and row go once its upload URL has expired, even after a late PUT', async () => {
        const headers = { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf };
        const start = await app.inject({
          method: 'POST', url: `/api/rooms/${privateRoom}/attachments/direct`, headers: { ...headers, 'content-type': 'application/json' },
          payload: JSON.stringify({ name: 'cancelled.txt', type: 'text/plain', size: 4 }),
        });
        const { attachment, upload: target } = start.json<{ attachment: { id: string }; upload: { url: string; headers: Record<string, string> } }>();
        expect((await app.inject({ method: 'DELETE', url: `/api/attachments/${attachment.id}`, headers })).statusCode).toBe(204);
        const completed = await app.inject({ method: 'POST', url: `/api/attachments/${attachment.id}/complete`, headers });
        expect(completed.statusCode).toBe(404); // discarded: it can no longer be completed (nor sent)
        // The URL is still valid: a PUT that was already on its way (or a replay) lands after the discard.
        expect((await fetch(target.url, { method: 'PUT', headers: target.headers, body: 'late' })).status).toBe(200);
        const { rows } = await db.pool.query<{ upload_key: string }>('SELECT upload_key FROM attachments WHERE id = $1', [attachment.id]);
        const key = rows[0]!.upload_key;
        expect(await store.head(key)).toMatchObject({ size: 4 });
        // While the URL may still be used, the sweeper leaves the row (and so will come back for the object).
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect((await db.pool.query('SELECT 1 FROM attachments WHERE id = $1', [attachment.id])).rowCount).toBe(1);
        // Past the URL's 60 s by Postgres's clock, but within the margin for admin's (the signer's) clock.
        await db.pool.query("UPDATE attachments SET created_at = now() - interval '2 minutes' WHERE id = $1", [attachment.id]);
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect((await db.pool.query('SELECT 1 FROM attachments WHERE id = $1', [attachment.id])).rowCount).toBe(1);
        await db.pool.query("UPDATE attachments SET created_at = now() - interval '60 seconds' - $2 * interval '1 millisecond' - interval '1 second' WHERE id = $1", [attachment.id, URL_CLOCK_MARGIN_MS]);
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect(await store.head(key)).toBeNull();
        expect((await db.pool.query('SELECT 1 FROM attachments WHERE id = $1', [attachment.id])).rowCount).toBe(0);
      });

      /** A direct upload as the browser makes it, up to (not including) /complete; its id and URL. */
      const startDirect = async (b: Browser, roomId: number, name: string, type: string, bytes: Buffer) => {
        const start = await app.inject({
          method: 'POST', url: `/api/rooms/${roomId}/attachments/direct`, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf, 'content-type': 'application/json' },
          payload: JSON.stringify({ name, type, size: bytes.length }),
        });
        expect(start.statusCode, start.body).toBe(201);
        const { attachment, upload: target } = start.json<{ attachment: { id: string }; upload: { url: string; headers: Record<string, string> } }>();
        // Content-Length is signed: a replay carries the same number of bytes (by default the same ones).
        const putBytes = (body: Buffer = bytes) => fetch(target.url, { method: 'PUT', headers: target.headers, body }).then((r) => r.status);
        expect(await putBytes()).toBe(200);
        const complete = () => app.inject({ method: 'POST', url: `/api/attachments/${attachment.id}/complete`, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
        return { id: attachment.id, putBytes, complete };
      };
      const keysOfRow = async (id: string) =>
        (await db.pool.query<{ storage_key: string; thumbnail_key: string | null; upload_key: string | null }>('SELECT storage_key, thumbnail_key, upload_key FROM attachments WHERE id = $1', [id])).rows[0];

      it('a PUT replayed after /complete cannot swap the served image back to the original with its GPS: the URL only reaches a staging object', async () => {
        const photo = await photoWithGps();
        const up = await startDirect(who.member, publicRoom, 'IMG_0002.jpg', 'image/jpeg', photo);
        expect((await up.complete()).statusCode).toBe(200);
        const served = (await get(who.member, `/api/attachments/${up.id}`)).rawPayload;
        expect((await sharp(served).metadata()).exif).toBeUndefined();
        const thumb = (await get(who.member, `/api/attachments/${up.id}/thumbnail`)).rawPayload;

        // The uploader replays the still-valid URL with the original bytes (EXIF and GPS included).
        expect(await up.putBytes()).toBe(200);
        const after = await get(who.member, `/api/attachments/${up.id}`);
        expect(after.rawPayload.equals(served)).toBe(true);
        expect(after.rawPayload.includes(Buffer.from('ParleyCam'))).toBe(false);
        expect((await get(who.member, `/api/attachments/${up.id}/thumbnail`)).rawPayload.equals(thumb)).toBe(true);
        // Completing again changes nothing either (the row is ready).
        expect((await up.complete()).json()).toMatchObject({ id: up.id, state: 'ready', size: served.length });
        expect((await get(who.member, `/api/attachments/${up.id}`)).rawPayload.equals(served)).toBe(true);

        // The replay reached the staging object only; it stays until the URL has expired, then the
        // sweeper deletes it and forgets the key, and the file itself stays.
        const staging = (await keysOfRow(up.id))!.upload_key!;
        expect(staging).toBe(`uploads/${up.id}`);
        expect((await keysOfRow(up.id))!.storage_key).toBe(`rooms/${publicRoom}/${up.id}`);
        expect(await store.head(staging)).not.toBeNull();
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect(await store.head(staging)).not.toBeNull();
        await db.pool.query("UPDATE attachments SET created_at = now() - interval '7 minutes' WHERE id = $1", [up.id]); // URL (60 s) and clock margin (5 min) past
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect(await store.head(staging)).toBeNull();
        expect((await keysOfRow(up.id))!.upload_key).toBeNull();
        expect((await get(who.member, `/api/attachments/${up.id}`)).rawPayload.equals(served)).toBe(true);
      });

      it('a non-image direct upload is copied to the served key at /complete; a later PUT of other bytes does not change it', async () => {
        const up = await startDirect(who.member, publicRoom, 'notes.txt', 'text/plain', Buffer.from('first version'));
        expect((await up.complete()).json()).toMatchObject({ state: 'ready', size: 13, contentType: 'text/plain' });
        const staging = (await keysOfRow(up.id))!.upload_key!;
        expect(await store.head(staging)).toBeNull(); // copied to the served key, then deleted
        expect(await up.putBytes(Buffer.from('FIRST VERSION'))).toBe(200);
        expect((await get(who.member, `/api/attachments/${up.id}`)).body).toBe('first version');
      });

      it('completes a direct upload the previous release started (no staging key: its PUT went to the served key), in place', async () => {
        const start = await app.inject({
          method: 'POST', url: `/api/rooms/${publicRoom}/attachments/direct`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf, 'content-type': 'application/json' },
          payload: JSON.stringify({ name: 'old.jpg', type: 'image/jpeg', size: 1 }),
        });
        const id = start.json<{ attachment: { id: string } }>().attachment.id;
        // The row and the PUT as the previous release made them: no upload_key, the bytes under storage_key.
        await db.pool.query('UPDATE attachments SET upload_key = NULL WHERE id = $1', [id]);
        const complete = () => app.inject({ method: 'POST', url: `/api/attachments/${id}/complete`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf } });
        expect((await complete()).statusCode).toBe(409); // not uploaded yet
        const { storage_key: storageKey } = (await keysOfRow(id))!;
        await store.put(storageKey, Readable.from([await photoWithGps()]), { contentType: 'image/jpeg' });
        const done = await complete();
        expect(done.statusCode, done.body).toBe(200);
        expect(done.json()).toMatchObject({ id, state: 'ready', contentType: 'image/jpeg', image: { width: 32, height: 64 } });
        const served = (await get(who.member, `/api/attachments/${id}`)).rawPayload;
        expect(served.includes(Buffer.from('ParleyCam'))).toBe(false); // re-encoded in place, without EXIF
        expect(await store.head(`uploads/${id}`)).toBeNull();
      });

      it('a ready direct upload discarded right after /complete keeps its row until the URL has expired, so a replayed PUT leaves no orphan', async () => {
        const up = await startDirect(who.member, publicRoom, 'quick.txt', 'text/plain', Buffer.from('soon gone'));
        expect((await up.complete()).statusCode).toBe(200);
        const keys = (await keysOfRow(up.id))!;
        expect((await app.inject({ method: 'DELETE', url: `/api/attachments/${up.id}`, headers: { cookie: who.member.cookie, 'x-csrf-token': who.member.csrf } })).statusCode).toBe(204);
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        expect((await db.pool.query('SELECT 1 FROM attachments WHERE id = $1', [up.id])).rowCount).toBe(1); // held back: the URL still works
        expect(await up.putBytes()).toBe(200); // a replay within the URL's lifetime
        expect(await store.head(keys.upload_key!)).not.toBeNull();
        await db.pool.query("UPDATE attachments SET created_at = now() - interval '7 minutes' WHERE id = $1", [up.id]); // URL (60 s) and clock margin (5 min) past
        await sweepAttachments(s.attachments, store, 24 * 3600_000, 60_000);
        for (const key of [keys.storage_key, keys.upload_key!]) expect(await store.head(key)).toBeNull();
        expect((await db.pool.query('SELECT 1 FROM attachments WHERE id = $1', [up.id])).rowCount).toBe(0);
      });
    }
    it('discarding an upload that a send links meanwhile answers 404 and leaves the sent file alone', async () => {
      const res = await upload(who.owner, publicRoom, 'racing.txt', 'text/plain', Buffer.from('sent after all'));
      const id = res.json<{ id: string }>().id;
      // The send links it right after discard has looked at the row (still unsent then).
      const racing = Object.create(s.attachments) as typeof s.attachments;
      racing.find = async (attachmentId: string) => {
        const seen = await s.attachments.find(attachmentId);
        const seq = await say(db.pool, publicRoom, who.owner.userId, 'with racing.txt');
        expect(await s.attachments.linkToMessage(db.pool, [attachmentId], publicRoom, seq, who.owner.userId)).toBe(1);
        return seen;
      };
      const service = new AttachmentService({ rooms: s.rooms, attachments: racing, store, maxBytes: MAX_BYTES, urlTtlSeconds: 60, presignedUploads: true, presignedDownloads: false });
      expect(((await s.attachments.find(id))!).messageSeq).toBeNull();
      await expect(service.discard({ id: who.owner.userId }, id)).rejects.toMatchObject({ statusCode: 404 });
      const { rows } = await db.pool.query<{ deleted: boolean; linked: boolean }>('SELECT deleted_at IS NOT NULL AS deleted, message_seq IS NOT NULL AS linked FROM attachments WHERE id = $1', [id]);
      expect(rows).toEqual([{ deleted: false, linked: true }]);
      await sweepAttachments(s.attachments, store, 24 * 3600_000);
      expect((await get(who.member, `/api/attachments/${id}`)).body).toBe('sent after all');
    });

    it(backend === 's3' ? 'with S3_PRESIGNED_DOWNLOADS, redirects readers to a short-lived URL that serves the file as a download' : 'streams downloads even when presigned downloads are asked for (the folder cannot sign)', async () => {
      const redirecting = new AttachmentService({ rooms: s.rooms, attachments: s.attachments, store, maxBytes: MAX_BYTES, urlTtlSeconds: 60, presignedUploads: true, presignedDownloads: true });
      const bytes = Buffer.from('<html>not to be rendered</html>');
      const { id } = await sent(who.owner, privateRoom, 'page.html', 'text/html', bytes);
      await expect(redirecting.download({ id: who.outsider.userId }, id, 'original')).rejects.toMatchObject({ statusCode: 403 });
      const d = await redirecting.download({ id: who.member.userId }, id, 'original');
      if (backend === 'fs') {
        expect(d.kind).toBe('stream');
        return;
      }
      if (d.kind !== 'redirect') throw new Error('expected a redirect');
      expect(d.url).toContain('X-Amz-Expires=60');
      const res = await fetch(d.url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="page.html"; filename*=UTF-8''page.html`);
    });
  });
}
