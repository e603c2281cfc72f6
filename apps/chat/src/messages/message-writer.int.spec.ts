// Group commit against a real Postgres: gap-free per-room seq in queue order, idempotent client ids
// (also racing across two writers, i.e. two replicas), isolation of bad messages and archived rooms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@parley/db';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { AuthorInactiveError, DatabaseUnavailableError, MessageWriter, RoomArchivedError, type StoreResult } from './message-writer.ts';

let db: TestDatabase;
let poolB: Pool;
const authors: number[] = [];

async function makeRooms(n: number): Promise<number[]> {
  const { rows } = await db.pool.query<{ id: number }>(
    `INSERT INTO rooms (name, kind) SELECT 'w-' || md5(random()::text), 'public' FROM generate_series(1, $1) RETURNING id`,
    [n],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

async function seqsOf(roomId: number): Promise<number[]> {
  const { rows } = await db.pool.query<{ seq: number }>('SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq', [roomId]);
  return rows.map((r) => r.seq);
}

beforeAll(async () => {
  db = await createTestDatabase('writer');
  poolB = createPool(db.url, { max: 5 });
  for (let i = 0; i < 5; i++) {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
      [`w${i}@example.test`, `writer_${i}`, `Writer ${i}`],
    );
    authors.push(rows[0]!.id);
  }
});

afterAll(async () => {
  await poolB?.end();
  await db?.drop();
});

describe('MessageWriter (group commit)', () => {
  it('batches concurrent sends across many rooms into few transactions, gap-free and in queue order per room', async () => {
    const rooms = await makeRooms(20);
    const writer = new MessageWriter(db.pool, { concurrency: 3, maxBatch: 200 });
    const sent = new Map<number, string[]>(rooms.map((r) => [r, []]));
    const pending: Array<Promise<StoreResult>> = [];
    for (let i = 0; i < 50; i++) {
      for (const room of rooms) {
        const author = authors[(i + room) % authors.length]!;
        const clientId = `many-${room}-${i}`;
        sent.get(room)!.push(clientId);
        pending.push(writer.store({ roomId: room, authorId: author, clientId, body: `m${i}` }));
      }
    }
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(writer.stats.batches).toBeLessThan(results.length / 10); // really grouped
    for (const room of rooms) {
      expect(await seqsOf(room)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      // queue order == seq order within a room
      const { rows } = await db.pool.query<{ client_msg_id: string }>('SELECT client_msg_id FROM messages WHERE room_id = $1 ORDER BY seq', [room]);
      expect(rows.map((r) => r.client_msg_id)).toEqual(sent.get(room));
      const { rows: r2 } = await db.pool.query<{ last_seq: number }>('SELECT last_seq FROM rooms WHERE id = $1', [room]);
      expect(r2[0]!.last_seq).toBe(50);
    }
    // The resolved message carries the seq it was stored with.
    for (const r of results) expect(r.message.clientId).toMatch(new RegExp(`^many-${r.message.roomId}-`));
  });

  it('sends that arrive while a lane\'s transaction runs go together into its next one, not one by one', async () => {
    const rooms = await makeRooms(6);
    const writer = new MessageWriter(db.pool, { concurrency: 2 });
    const first = rooms.map((room) => writer.store({ roomId: room, authorId: authors[0]!, clientId: `lane-first-${room}`, body: 'first' }));
    // Both lanes are now running their first transaction; everything below arrives while they run.
    await new Promise((resolve) => setImmediate(resolve));
    const later: Array<Promise<StoreResult>> = [];
    for (let i = 0; i < 20; i++) {
      for (const room of rooms) later.push(writer.store({ roomId: room, authorId: authors[1]!, clientId: `lane-${room}-${i}`, body: `m${i}` }));
    }
    await Promise.all([...first, ...later]);
    // One transaction per lane for the first sends, one per lane for the 120 that waited behind them.
    const lanes = new Set(rooms.map((room) => room % 2)).size;
    expect(writer.stats.batches).toBe(2 * lanes);
    for (const room of rooms) expect(await seqsOf(room)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('two writers (two replicas) on the same rooms: gap-free seqs, each writer FIFO per room', async () => {
    const rooms = await makeRooms(4);
    const a = new MessageWriter(db.pool, { concurrency: 2, maxBatch: 50 });
    const b = new MessageWriter(poolB, { concurrency: 2, maxBatch: 50 });
    const pending: Array<Promise<StoreResult>> = [];
    for (let i = 0; i < 150; i++) {
      for (const room of rooms) {
        pending.push(a.store({ roomId: room, authorId: authors[0]!, clientId: `two-a-${room}-${i}`, body: 'a' }));
        pending.push(b.store({ roomId: room, authorId: authors[1]!, clientId: `two-b-${room}-${i}`, body: 'b' }));
      }
      if (i % 30 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
    // Rooms locked in id order: concurrent batches never deadlock (a deadlock would show as a fallback).
    expect(a.stats.fallbacks + b.stats.fallbacks).toBe(0);
    for (const room of rooms) {
      expect(await seqsOf(room)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      const { rows } = await db.pool.query<{ client_msg_id: string }>('SELECT client_msg_id FROM messages WHERE room_id = $1 ORDER BY seq', [room]);
      const ids = rows.map((r) => r.client_msg_id);
      for (const w of ['a', 'b']) {
        const mine = ids.filter((id) => id.startsWith(`two-${w}-`)).map((id) => Number(id.split('-').pop()));
        expect(mine).toEqual(Array.from({ length: 150 }, (_, i) => i));
      }
    }
  });

  it('concurrent duplicate client ids (same writer and across writers) store exactly one message', async () => {
    const [room] = await makeRooms(1);
    const a = new MessageWriter(db.pool, { concurrency: 2 });
    const b = new MessageWriter(poolB, { concurrency: 2 });
    for (let round = 0; round < 10; round++) {
      const clientId = `dup-${round}`;
      const calls: Array<Promise<StoreResult>> = [];
      for (let i = 0; i < 5; i++) {
        calls.push(a.store({ roomId: room!, authorId: authors[2]!, clientId, body: `from a ${i}` }));
        calls.push(b.store({ roomId: room!, authorId: authors[2]!, clientId, body: `from b ${i}` }));
        // other traffic in the same batches
        calls.push(a.store({ roomId: room!, authorId: authors[3]!, clientId: `other-${round}-${i}`, body: 'x' }));
      }
      const results = await Promise.all(calls);
      const dupResults = results.filter((r) => r.message.clientId === clientId);
      expect(new Set(dupResults.map((r) => r.message.seq)).size).toBe(1);
      expect(dupResults.filter((r) => !r.duplicate)).toHaveLength(1);
      const { rows } = await db.pool.query('SELECT 1 FROM messages WHERE author_id = $1 AND client_msg_id = $2', [authors[2], clientId]);
      expect(rows).toHaveLength(1);
    }
    expect(await seqsOf(room!)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('a resend after commit returns the original ack and stores nothing', async () => {
    const [room] = await makeRooms(1);
    const w = new MessageWriter(db.pool);
    const first = await w.store({ roomId: room!, authorId: authors[0]!, clientId: 'again', body: 'original' });
    const again = await w.store({ roomId: room!, authorId: authors[0]!, clientId: 'again', body: 'changed' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ message: first.message, duplicate: true });
    expect(await seqsOf(room!)).toEqual([1]);
  });

  it('a failing message fails alone; an archived room consumes no seq; the rest of the batch commits', async () => {
    const [live, archived] = await makeRooms(2);
    await db.pool.query('UPDATE rooms SET archived_at = now() WHERE id = $1', [archived]);
    const w = new MessageWriter(db.pool, { concurrency: 1 });
    // Occupy the writer so the next calls land in one batch.
    const blocker = w.store({ roomId: live!, authorId: authors[0]!, clientId: 'iso-0', body: 'first' });
    const calls = [
      w.store({ roomId: live!, authorId: authors[0]!, clientId: 'iso-1', body: 'ok 1' }),
      w.store({ roomId: live!, authorId: authors[0]!, clientId: 'iso-bad', body: 'nul \u0000 byte' }),
      w.store({ roomId: archived!, authorId: authors[0]!, clientId: 'iso-arch', body: 'nope' }),
      w.store({ roomId: live!, authorId: authors[0]!, clientId: 'iso-2', body: 'ok 2' }),
    ];
    const settled = await Promise.allSettled([blocker, ...calls]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(RoomArchivedError);
    expect(await seqsOf(live!)).toEqual([1, 2, 3]);
    expect(await seqsOf(archived!)).toEqual([]);
    const { rows } = await db.pool.query<{ last_seq: number }>('SELECT last_seq FROM rooms WHERE id = $1', [archived]);
    expect(rows[0]!.last_seq).toBe(0);
  });

  it('stores nothing from an author banned before the batch, in the batch and the one-by-one path; the rest commits gap-free', async () => {
    const [room] = await makeRooms(1);
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash, status) VALUES ('banned@example.test', 'writer_banned', 'Banned', 'x', 'banned') RETURNING id`,
    );
    const banned = rows[0]!.id;
    const writer = new MessageWriter(db.pool, { concurrency: 1, maxBatch: 50 });
    const results = await Promise.allSettled([
      writer.store({ roomId: room!, authorId: authors[0]!, clientId: 'ok-1', body: 'before' }),
      writer.store({ roomId: room!, authorId: banned, clientId: 'banned-1', body: 'spam' }),
      writer.store({ roomId: room!, authorId: authors[1]!, clientId: 'ok-2', body: 'after' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(AuthorInactiveError);
    expect(await seqsOf(room!)).toEqual([1, 2]);
    const client = await db.pool.connect();
    try {
      await expect(writer.storeOne(client, { roomId: room!, authorId: banned, clientId: 'banned-2', body: 'spam' })).rejects.toBeInstanceOf(AuthorInactiveError);
    } finally {
      client.release();
    }
    expect(await seqsOf(room!)).toEqual([1, 2]);
  });

  it('records the author\'s role at insert (author_role), in the batch and the one-by-one path', async () => {
    const [room] = await makeRooms(1);
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ('mod@example.test', 'writer_mod', 'Mod', 'x', 'moderator') RETURNING id`,
    );
    const mod = rows[0]!.id;
    const writer = new MessageWriter(db.pool, { concurrency: 1 });
    await Promise.all([
      writer.store({ roomId: room!, authorId: mod, clientId: 'role-1', body: '@room hello' }),
      writer.store({ roomId: room!, authorId: authors[0]!, clientId: 'role-2', body: 'hi' }),
    ]);
    const client = await db.pool.connect();
    try {
      await writer.storeOne(client, { roomId: room!, authorId: mod, clientId: 'role-3', body: 'one by one' });
    } finally {
      client.release();
    }
    await db.pool.query(`UPDATE users SET role = 'user' WHERE id = $1`, [mod]);
    const { rows: stored } = await db.pool.query<{ client_msg_id: string; author_role: string }>(
      'SELECT client_msg_id, author_role FROM messages WHERE room_id = $1 ORDER BY seq', [room],
    );
    expect(stored).toEqual([
      { client_msg_id: 'role-1', author_role: 'moderator' },
      { client_msg_id: 'role-2', author_role: 'user' },
      { client_msg_id: 'role-3', author_role: 'moderator' },
    ]);
  });

  it('fails fast when the queue is full instead of growing without bound', async () => {
    const [room] = await makeRooms(1);
    const w = new MessageWriter(db.pool, { concurrency: 1, maxQueue: 3 });
    const calls = Array.from({ length: 6 }, (_, i) => w.store({ roomId: room!, authorId: authors[4]!, clientId: `q-${i}`, body: 'x' }));
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === 'rejected').length).toBeGreaterThan(0);
    const ok = settled.filter((s) => s.status === 'fulfilled').length;
    expect(await seqsOf(room!)).toEqual(Array.from({ length: ok }, (_, i) => i + 1));
  });
});

describe('MessageWriter under database outages', () => {
  const health = () => {
    const h = { failures: 0, successes: 0, failed: () => void h.failures++, succeeded: () => void h.successes++ };
    return h;
  };
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  beforeAll(() => void process.on('uncaughtException', onUncaught));
  afterAll(() => void process.off('uncaughtException', onUncaught));

  it('a batch whose backend is killed mid-statement fails as unavailable (process lives, client discarded); resends store each message once', async () => {
    const [room] = await makeRooms(1);
    const pool = createPool(db.url, { max: 2, applicationName: 'parley-writer-outage' });
    const h = health();
    const writer = new MessageWriter(pool, { concurrency: 1, health: h });
    // Hold the room's row lock so the first batch (the first send alone) waits inside Postgres, then
    // kill its backend. The sends queued behind it wait for the room.
    const blocker = await db.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [room]);
    const msgs = Array.from({ length: 10 }, (_, i) => ({ roomId: room!, authorId: authors[i % authors.length]!, clientId: `outage-${room}-${i}`, body: `o${i}` }));
    const pending = [writer.store(msgs[0]!)];
    const lockWaiter = async () => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await db.pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'parley-writer-outage' AND wait_event_type = 'Lock'",
        );
        if (rows[0]) return rows[0].pid;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the batch never waited for the room lock');
    };
    const killed = await lockWaiter();
    pending.push(...msgs.slice(1).map((m) => writer.store(m)));
    await db.pool.query('SELECT pg_terminate_backend($1)', [killed]);
    const [first] = await Promise.allSettled([pending[0]!]);
    expect(first.status).toBe('rejected');
    expect((first as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseUnavailableError);
    expect(h.failures).toBe(1);
    expect(writer.stats.unavailable).toBe(1);
    // The next batch runs on a fresh connection (the dead one was discarded) and commits once the lock goes.
    expect(await lockWaiter()).not.toBe(killed);
    await blocker.query('ROLLBACK');
    blocker.release();
    const rest = await Promise.all(pending.slice(1));
    expect(rest.map((r) => r.message.seq)).toEqual(msgs.slice(1).map((_, i) => i + 1));
    expect(h.successes).toBeGreaterThan(0);
    // The sender resends everything unacknowledged or not (same client ids): each message is stored once.
    const again = await Promise.all(msgs.map((m) => writer.store(m)));
    expect(again[0]).toMatchObject({ duplicate: false, message: { seq: 10, clientId: msgs[0]!.clientId } });
    expect(again.slice(1).every((r) => r.duplicate)).toBe(true);
    expect(await seqsOf(room!)).toEqual(msgs.map((_, i) => i + 1));
    expect(uncaught).toEqual([]);
    await pool.end();
  });

  it('database unreachable: sends reject at once as unavailable; nothing is retried behind the sender\'s back', async () => {
    const pool = createPool('postgres://postgres@127.0.0.1:1/nowhere', { max: 2 });
    const h = health();
    const writer = new MessageWriter(pool, { concurrency: 2, health: h });
    const settled = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => writer.store({ roomId: 1, authorId: 1, clientId: `down-${i}`, body: 'x' })));
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof DatabaseUnavailableError)).toBe(true);
    expect(h.failures).toBeGreaterThan(0);
    expect(writer.queued()).toBe(0);
    await writer.idle();
    await pool.end();
  });
});
