// Control events written by concurrent admin services get gap-free ids in commit order: a reader that
// polls `id > cursor` (as every chat replica does) while 80 changes commit on 16 connections never sees
// an id before all smaller ids are visible, and ends with exactly one event per expected change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, controlEventsAfter, lastControlEventId, type Pool } from '@parley/db';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { actor, person, say, servicesFor, type TestServices } from './service-test-kit.ts';

let db: TestDatabase;
let pool: Pool;
let s: TestServices;

beforeAll(async () => {
  db = await createTestDatabase('admin_event_order');
  pool = createPool(db.url, { max: 16, applicationName: 'parley-test-writers' });
  s = servicesFor(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('control event ids under concurrent writers', () => {
  it('are gap-free and become visible strictly in id order', async () => {
    const admin = await person(s, 'admin');
    const people = await Promise.all(Array.from({ length: 20 }, () => person(s)));
    const room = await s.rooms.create({ name: 'Busy', topic: '', kind: 'public', createdBy: admin.id });
    const seqs = await Promise.all(people.map((p) => say(db.pool, room.id, p.id, 'hi')));
    const start = await lastControlEventId(db.pool);

    // 80 changes of four kinds, each writing exactly one event, all at once.
    const changes: Array<() => Promise<unknown>> = [];
    for (const [i, p] of people.entries()) {
      changes.push(() => s.moderation.setMute(actor(admin), admin, room, p, 5));
      changes.push(() => s.moderation.deleteMessage(actor(admin), admin, room.id, seqs[i]!));
      changes.push(() => s.userAdmin.changeRole(actor(admin), p.id, 'moderator'));
      changes.push(() => s.roomService.rename(actor(admin), room, { name: `Busy ${i}`, topic: `round ${i}` }));
    }

    // The reader, on its own connection: every batch it sees must continue exactly where it stopped.
    const reader = await db.pool.connect();
    let cursor = start;
    let polls = 0;
    const holes: string[] = [];
    let writing = true;
    const reading = (async () => {
      while (writing || cursor < start + changes.length) {
        const batch = await controlEventsAfter(reader, cursor);
        polls++;
        batch.forEach((e, i) => {
          if (e.id !== cursor + i + 1) holes.push(`saw ${e.id} after ${cursor + i}`);
        });
        if (batch.length) cursor = batch[batch.length - 1]!.id;
        else await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(changes.map((c) => c()));
    writing = false;
    await reading;
    reader.release();

    expect(holes).toEqual([]);
    expect(cursor).toBe(start + changes.length);
    expect(polls).toBeGreaterThan(1);
    const { rows } = await db.pool.query<{ n: number; lo: number; hi: number }>('SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM control_events WHERE id > $1', [start]);
    expect(rows[0]).toEqual({ n: changes.length, lo: start + 1, hi: start + changes.length });
    // Each moderator delete's message carries the id of its own event as its version.
    const { rows: versions } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages m JOIN control_events e ON e.id = m.version AND e.kind = 'message_updated' AND e.room_id = m.room_id AND e.seq = m.seq WHERE m.room_id = $1`,
      [room.id],
    );
    expect(versions[0]?.n).toBe(people.length);
  });
});
