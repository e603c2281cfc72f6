// Attachments linked to their message in the message's own transaction, against a real Postgres: a send
// with ids links the sender's ready, unsent uploads of that room (someone else's, another room's, a
// pending or an already sent one are ignored), every read path carries them, a resend returns them, the
// one-by-one fallback links too, a message of files only with none linkable is refused (never stored
// empty, also when two sends in one batch name the same upload or it is discarded while the batch
// runs), and deleting the message marks them deleted for the sweeper.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@parley/db';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { MessageRepository, NoLinkableAttachmentsError } from './message-repository.ts';
import { MessageWriter } from './message-writer.ts';

let db: TestDatabase;
let repo: MessageRepository;
const users: number[] = [];
let room: number;
let otherRoom: number;

async function upload(roomId: number, uploaderId: number, opts: { image?: boolean; state?: 'pending' | 'ready' } = {}): Promise<string> {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO attachments (id, room_id, uploader_id, storage_key, name, content_type, size_bytes, image_width, image_height, thumbnail_key, state)
     VALUES ($1, $2, $3, $4, $5, $6, 1234, $7, $8, $9, $10)`,
    [id, roomId, uploaderId, `rooms/${roomId}/${id}`, opts.image ? 'photo.png' : 'notes.txt', opts.image ? 'image/png' : 'text/plain',
      opts.image ? 640 : null, opts.image ? 480 : null, opts.image ? `rooms/${roomId}/${id}.thumb.webp` : null, opts.state ?? 'ready'],
  );
  return id;
}

const lastSeqOf = async (roomId: number) =>
  Number((await db.pool.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE id = $1', [roomId])).rows[0]!.last_seq);

async function newRooms(n: number): Promise<number[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO rooms (name, kind) SELECT 'att-' || md5(random()::text), 'public' FROM generate_series(1, $1) RETURNING id`, [n]);
  return rows.map((r) => Number(r.id));
}

/** Until a backend of this application waits for a lock (the batch statement, blocked on a row). */
async function waitForLockWait(applicationName: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rowCount } = await db.pool.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [applicationName]);
    if (rowCount) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the batch never waited for the upload row');
}

const linkedSeq = async (id: string) =>
  (await db.pool.query<{ message_seq: string | null; deleted: boolean }>('SELECT message_seq, deleted_at IS NOT NULL AS deleted FROM attachments WHERE id = $1', [id])).rows[0]!;

beforeAll(async () => {
  db = await createTestDatabase('attlink');
  repo = new MessageRepository(db.pool);
  for (let i = 0; i < 2; i++) {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
      [`a${i}@example.test`, `attacher_${i}`, `Attacher ${i}`],
    );
    users.push(Number(rows[0]!.id));
  }
  const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO rooms (name, kind) VALUES ('att-a', 'public'), ('att-b', 'public') RETURNING id`);
  room = Number(rows[0]!.id);
  otherRoom = Number(rows[1]!.id);
});

afterAll(async () => {
  await repo?.writer.idle();
  await db?.drop();
});

describe('attachments on messages', () => {
  it('a send links only the sender’s ready, unsent uploads of the room; every read path carries them', async () => {
    const [me, other] = [users[0]!, users[1]!];
    const image = await upload(room, me, { image: true });
    const file = await upload(room, me);
    const someoneElses = await upload(room, other);
    const elsewhere = await upload(otherRoom, me);
    const pending = await upload(room, me, { state: 'pending' });
    const clientId = `att-${randomUUID()}`;
    // A plain message in the same batch links nothing.
    const [plain, result] = await Promise.all([
      repo.store({ roomId: room, authorId: me, clientId: `plain-${randomUUID()}`, body: 'plain' }),
      repo.store({ roomId: room, authorId: me, clientId, body: '', attachments: [image, file, someoneElses, elsewhere, pending] }),
    ]);
    expect(plain.message.attachments).toBeUndefined();
    const m = result.message;
    expect(m.body).toBe('');
    expect(m.attachments?.map((a) => a.id).sort()).toEqual([image, file].sort());
    expect(m.attachments?.find((a) => a.id === image)).toEqual({ id: image, name: 'photo.png', size: 1234, contentType: 'image/png', image: { width: 640, height: 480 } });
    expect(m.attachments?.find((a) => a.id === file)).toEqual({ id: file, name: 'notes.txt', size: 1234, contentType: 'text/plain' });
    // Dimensions without a thumbnail (never decoded as an image) are not served as an image.
    const undecoded = await upload(room, me, { image: true });
    await db.pool.query('UPDATE attachments SET thumbnail_key = NULL WHERE id = $1', [undecoded]);
    const plainFile = await repo.store({ roomId: room, authorId: me, clientId: `att-${randomUUID()}`, body: 'x', attachments: [undecoded] });
    expect(plainFile.message.attachments).toEqual([{ id: undecoded, name: 'photo.png', size: 1234, contentType: 'image/png' }]);
    expect(Number((await linkedSeq(image)).message_seq)).toBe(m.seq);
    for (const id of [someoneElses, elsewhere, pending]) expect((await linkedSeq(id)).message_seq).toBeNull();

    const ids = (msg: { attachments?: Array<{ id: string }> } | null | undefined) => msg?.attachments?.map((a) => a.id).sort();
    expect(ids(await repo.bySeq(room, m.seq))).toEqual([image, file].sort());
    expect(ids((await repo.after(room, m.seq - 1, 10))[0])).toEqual([image, file].sort());
    expect(ids((await repo.before(room, m.seq + 1, 1)).messages[0])).toEqual([image, file].sort());
    expect(ids((await repo.around(room, m.seq, 3)).messages.find((x) => x.seq === m.seq))).toEqual([image, file].sort());
    expect(ids((await repo.bySeqs([{ roomId: room, seq: m.seq }]))[0])).toEqual([image, file].sort());

    // A resend (same client id) returns the original with its attachments and links nothing new.
    const again = await upload(room, me);
    const resend = await repo.store({ roomId: room, authorId: me, clientId, body: '', attachments: [again] });
    expect(resend.duplicate).toBe(true);
    expect(ids(resend.message)).toEqual([image, file].sort());
    expect((await linkedSeq(again)).message_seq).toBeNull();

    // An upload already sent cannot be sent again with another message.
    const second = await repo.store({ roomId: room, authorId: me, clientId: `att-${randomUUID()}`, body: 'again', attachments: [image, again] });
    expect(ids(second.message)).toEqual([again]);
    expect(Number((await linkedSeq(image)).message_seq)).toBe(m.seq);
  });

  it('the one-by-one fallback links them too', async () => {
    const me = users[0]!;
    const id = await upload(room, me);
    const client = await db.pool.connect();
    try {
      const { message } = await repo.writer.storeOne(client, { roomId: room, authorId: me, clientId: `one-${randomUUID()}`, body: 'one', attachments: [id, randomUUID()] });
      expect(message.attachments?.map((a) => a.id)).toEqual([id]);
      expect(Number((await linkedSeq(id)).message_seq)).toBe(message.seq);
    } finally {
      client.release();
    }
  });

  it('a message of files only, none of them linkable, is refused and stores nothing (seq not used); its resend after a stored send is still a duplicate', async () => {
    const [me, other] = [users[0]!, users[1]!];
    const lastSeq = async () => Number((await db.pool.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE id = $1', [room])).rows[0]!.last_seq);
    const sentOne = await upload(room, me);
    await repo.store({ roomId: room, authorId: me, clientId: `sent-${randomUUID()}`, body: 'first', attachments: [sentOne] });
    const refused = [await upload(room, other), await upload(otherRoom, me), await upload(room, me, { state: 'pending' }), sentOne, randomUUID()];
    const before = await lastSeq();
    const clientId = `empty-${randomUUID()}`;
    // The batch path (a plain message sent beside it is stored) and the one-by-one path.
    const [plain, empty] = await Promise.allSettled([
      repo.store({ roomId: room, authorId: me, clientId: `beside-${randomUUID()}`, body: 'beside' }),
      repo.store({ roomId: room, authorId: me, clientId, body: '  \n ', attachments: refused }),
    ]);
    expect(plain.status).toBe('fulfilled');
    expect(empty.status === 'rejected' && empty.reason).toBeInstanceOf(NoLinkableAttachmentsError);
    const client = await db.pool.connect();
    try {
      await expect(repo.writer.storeOne(client, { roomId: room, authorId: me, clientId, body: '', attachments: refused })).rejects.toBeInstanceOf(NoLinkableAttachmentsError);
    } finally {
      client.release();
    }
    expect(await lastSeq()).toBe(before + 1); // only the plain message took a seq: no gap, no empty row
    expect((await db.pool.query('SELECT 1 FROM messages WHERE author_id = $1 AND client_msg_id = $2', [me, clientId])).rowCount).toBe(0);

    // The same client id with a linkable upload now stores; resending it (its upload is now sent) is a duplicate.
    const good = await upload(room, me);
    const stored = await repo.store({ roomId: room, authorId: me, clientId, body: '', attachments: [good] });
    expect(stored.duplicate).toBe(false);
    const resend = await repo.store({ roomId: room, authorId: me, clientId, body: '', attachments: [good] });
    expect(resend).toMatchObject({ duplicate: true, message: { seq: stored.message.seq, attachments: [{ id: good }] } });
    const resentOne = await db.pool.connect();
    try {
      expect(await repo.writer.storeOne(resentOne, { roomId: room, authorId: me, clientId, body: '', attachments: [good] })).toMatchObject({ duplicate: true });
    } finally {
      resentOne.release();
    }
    // A message with text keeps its text when none of its files link (as before).
    const withText = await repo.store({ roomId: room, authorId: me, clientId: `text-${randomUUID()}`, body: 'words', attachments: [good] });
    expect(withText.message).toMatchObject({ body: 'words' });
    expect(withText.message.attachments).toBeUndefined();
  });

  it('two sends in one batch naming the same upload: the first gets it, a later files-only one is refused (no empty message, no seq gap)', async () => {
    const me = users[0]!;
    const writer = new MessageWriter(db.pool, { concurrency: 1 });
    const [roomId] = await newRooms(1);
    const shared = await upload(roomId!, me);
    const own = await upload(roomId!, me);
    const settled = await Promise.allSettled([
      writer.store({ roomId: roomId!, authorId: me, clientId: `claim-1-${randomUUID()}`, body: '', attachments: [shared] }),
      writer.store({ roomId: roomId!, authorId: me, clientId: `claim-2-${randomUUID()}`, body: '', attachments: [shared] }),
      writer.store({ roomId: roomId!, authorId: me, clientId: `claim-3-${randomUUID()}`, body: 'plain' }),
      // Text and a file already claimed above: stored with its text, plus its own upload.
      writer.store({ roomId: roomId!, authorId: me, clientId: `claim-4-${randomUUID()}`, body: 'words', attachments: [shared, own] }),
    ]);
    expect(writer.stats).toMatchObject({ batches: 1, fallbacks: 0 }); // all in the one statement
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(NoLinkableAttachmentsError);
    const [first, , plain, words] = settled.map((s) => (s.status === 'fulfilled' ? s.value.message : null));
    expect(first).toMatchObject({ seq: 1, attachments: [{ id: shared }] });
    expect(plain).toMatchObject({ seq: 2, body: 'plain' });
    expect(words).toMatchObject({ seq: 3, body: 'words', attachments: [{ id: own }] });
    expect(await lastSeqOf(roomId!)).toBe(3);
    const { rows } = await db.pool.query<{ seq: string; links: string }>(
      `SELECT m.seq, (SELECT count(*) FROM attachments a WHERE a.room_id = m.room_id AND a.message_seq = m.seq) AS links
       FROM messages m WHERE m.room_id = $1 ORDER BY m.seq`, [roomId]);
    expect(rows.map((r) => [Number(r.seq), Number(r.links)])).toEqual([[1, 1], [2, 0], [3, 1]]);
  });

  it('an upload discarded while the batch waits for it is not linked, and its files-only message is refused (no seq taken)', async () => {
    const me = users[0]!;
    const [roomId] = await newRooms(1);
    const id = await upload(roomId!, me);
    const appName = `parley-attlink-${randomUUID().slice(0, 8)}`;
    const pool = createPool(db.url, { max: 2, applicationName: appName });
    const writer = new MessageWriter(pool, { concurrency: 1 });
    // The discard holds the row while the batch statement starts (its snapshot still sees the upload
    // as linkable), and commits once the batch waits for the row.
    const discard = await db.pool.connect();
    try {
      await discard.query('BEGIN');
      await discard.query('UPDATE attachments SET deleted_at = now() WHERE id = $1', [id]);
      const sent = writer.store({ roomId: roomId!, authorId: me, clientId: `discarded-${randomUUID()}`, body: '', attachments: [id] });
      const outcome = sent.then(() => 'stored', (err: unknown) => err);
      await waitForLockWait(appName);
      await discard.query('COMMIT');
      expect(await outcome).toBeInstanceOf(NoLinkableAttachmentsError);
    } finally {
      discard.release();
      await pool.end();
    }
    expect(writer.stats.fallbacks).toBe(0);
    expect(await lastSeqOf(roomId!)).toBe(0);
    expect((await db.pool.query('SELECT 1 FROM messages WHERE room_id = $1', [roomId])).rowCount).toBe(0);
    expect((await linkedSeq(id)).message_seq).toBeNull();
  });

  it('deleting the message marks its attachments deleted in the same transaction and stops serving them', async () => {
    const me = users[0]!;
    const id = await upload(room, me, { image: true });
    const { message } = await repo.store({ roomId: room, authorId: me, clientId: `del-${randomUUID()}`, body: 'bye', attachments: [id] });
    expect(message.attachments).toHaveLength(1);
    expect(await repo.softDelete(room, message.seq, users[1]!)).toBe('not_allowed'); // not the author: nothing marked
    expect((await linkedSeq(id)).deleted).toBe(false);
    expect(await repo.softDelete(room, message.seq, me)).toMatchObject({ version: expect.any(Number) as number });
    expect((await linkedSeq(id)).deleted).toBe(true);
    expect((await repo.bySeq(room, message.seq))?.attachments).toBeUndefined();
  });
});
