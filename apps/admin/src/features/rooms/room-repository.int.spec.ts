import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { RoomRepository } from './room-repository.ts';

let db: TestDatabase;
let rooms: RoomRepository;
const ids: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase('admin_rooms');
  rooms = new RoomRepository(db.pool);
  for (const h of ['ann', 'bob', 'cat']) {
    const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`, [`${h}@x.test`, h, h.toUpperCase()]);
    ids.push(rows[0]!.id);
  }
});
afterAll(async () => db?.drop());

describe('RoomRepository', () => {
  it('opens one direct room per pair, whoever starts it, with both as members', async () => {
    const [ann, bob, cat] = ids as [number, number, number];
    const first = await rooms.openDirect(bob, ann);
    expect(await rooms.openDirect(ann, bob)).toBe(first);
    await Promise.all([rooms.openDirect(ann, cat), rooms.openDirect(cat, ann)]).then(([x, y]) => expect(x).toBe(y));
    const { rows } = await db.pool.query('SELECT kind, direct_key FROM rooms WHERE id = $1', [first]);
    expect(rows[0]).toEqual({ kind: 'direct', direct_key: `${Math.min(ann, bob)}:${Math.max(ann, bob)}` });
    expect((await rooms.members(first)).map((m) => m.handle).sort()).toEqual(['ann', 'bob']);
    expect((await rooms.listDirect(ann)).map((d) => d.other.handle).sort()).toEqual(['bob', 'cat']);
    // Direct rooms stay out of room lists (only the built-in #general is there).
    expect((await rooms.listVisible(ann)).map((r) => r.name)).toEqual(['general']);
    expect((await rooms.listAll()).map((r) => r.name)).toEqual(['general']);
  });

  it('invites to private rooms, archives, and mutes', async () => {
    const [ann, bob] = ids as [number, number];
    const room = await rooms.create({ name: 'Secret', topic: '', kind: 'private', createdBy: ann });
    expect(await rooms.findVisible(room.id, bob)).toBeNull();
    expect(await rooms.addMember(room.id, bob)).toBe(true);
    expect(await rooms.addMember(room.id, bob)).toBe(false);
    expect((await rooms.findVisible(room.id, bob))?.isMember).toBe(true);
    expect(await rooms.setArchived(room.id, true)).toBe(true);
    expect((await rooms.findById(room.id))?.archivedAt).toBeInstanceOf(Date);
    await rooms.setMutedUntil(room.id, bob, new Date(Date.now() + 60_000));
    expect(await rooms.mutedUntil(room.id, bob)).toBeInstanceOf(Date);
    await rooms.setMutedUntil(room.id, bob, null);
    expect(await rooms.mutedUntil(room.id, bob)).toBeNull();
    expect(await rooms.removeMember(room.id, bob)).toBe(true);
    expect(await rooms.findVisible(room.id, bob)).toBeNull();
  });
});
