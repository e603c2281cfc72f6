// During a rollout the previous release's admin pods write beside this one's on the migrated schema
// (docs/deploy.md). Their writes are replayed here as that release's SQL (RoomRepository at 858fea8:
// ensureConversation, isGroupConversation, removeMember), and this release must then see a correct group:
// marked as one, keyed by its members now, so opening the original people never brings a leaver back.
// Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { withTransaction } from '@parley/db';
import { actor, person, servicesFor, type TestServices } from '../control/service-test-kit.ts';
import { ConversationRepository } from '../conversations/conversation-repository.ts';

let db: TestDatabase;
let s: TestServices;
beforeAll(async () => {
  db = await createTestDatabase('admin_group_dm_prev');
  s = servicesFor(db.pool);
});
afterAll(async () => {
  await db?.drop();
});

/** The previous release's RoomRepository.ensureConversation: no is_group, no lock. */
async function previousOpen(openedBy: number, userIds: number[]): Promise<number> {
  return withTransaction(db.pool, async (tx) => {
    const key = [...new Set(userIds)].sort((x, y) => x - y).join(':');
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO rooms (name, kind, created_by, direct_key) VALUES ($1, 'direct', $2, $3) ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
      [`dm ${key}`, openedBy, key],
    );
    const id = inserted.rows[0]?.id ?? (await tx.query<{ id: string }>('SELECT id FROM rooms WHERE direct_key = $1', [key])).rows[0]!.id;
    await tx.query('INSERT INTO room_members (room_id, user_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id', [id, key.split(':')]);
    await tx.query('UPDATE room_members SET hidden_through_seq = NULL WHERE room_id = $1 AND user_id = $2 AND hidden_through_seq IS NOT NULL', [id, openedBy]);
    return Number(id);
  });
}

/** The previous release's test for a group: its key names 3 or more ids. */
async function previousIsGroup(roomId: number): Promise<boolean> {
  const { rows } = await db.pool.query<{ direct_key: string | null }>(`SELECT direct_key FROM rooms WHERE id = $1 AND kind = 'direct'`, [roomId]);
  return (rows[0]?.direct_key?.split(':').length ?? 0) > 2;
}

/** The previous release's RoomService.leaveConversation (its membership part: no lock, no re-key). */
async function previousLeave(roomId: number, userId: number): Promise<boolean> {
  if (!(await previousIsGroup(roomId))) throw new Error('Only group conversations can be left.');
  return withTransaction(db.pool, async (tx) => ((await tx.query('DELETE FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId])).rowCount ?? 0) > 0);
}

const sorted = (...us: Array<{ id: number }>) => us.map((u) => u.id).sort((x, y) => x - y);
const keyOf = async (id: number) => (await db.pool.query<{ direct_key: string | null }>('SELECT direct_key FROM rooms WHERE id = $1', [id])).rows[0]!.direct_key;
const membersOf = async (id: number) => (await s.rooms.members(id)).map((m) => m.id).sort((x, y) => x - y);

describe('group conversations written by the previous release', () => {
  it('a group it opens is a group here, and one it opens for two people is not', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    const group = await previousOpen(ann.id, [ann.id, bob.id, cat.id]);
    const pair = await previousOpen(ann.id, [ann.id, bob.id]);
    expect([await s.rooms.isGroupConversation(group), await s.rooms.isGroupConversation(pair)]).toEqual([true, false]);
    const conversations = new ConversationRepository(db.pool);
    expect([(await conversations.list(ann, group))[0]?.group, (await conversations.list(ann, pair))[0]?.group]).toEqual([true, false]);
    // This release finds the same rooms by the same people.
    expect(await s.roomService.openGroup(actor(bob), bob, [ann.handle, cat.handle])).toBe(group);
    expect(await s.roomService.openDirect(actor(bob), bob, ann)).toBe(pair);
  });

  it('its leaves re-key the group, so opening the original people (in either release) does not bring the leaver back', async () => {
    const [ann, bob, cat, dan] = [await person(s), await person(s), await person(s), await person(s)];
    const four = await previousOpen(ann.id, [ann.id, bob.id, cat.id, dan.id]);
    expect(await previousLeave(four, dan.id)).toBe(true);
    expect(await keyOf(four)).toBe(sorted(ann, bob, cat).join(':'));

    const byThisRelease = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]);
    expect(byThisRelease).not.toBe(four);
    expect(await membersOf(four)).toEqual(sorted(ann, bob, cat));
    expect(await previousOpen(cat.id, [ann.id, bob.id, cat.id, dan.id])).toBe(byThisRelease);
    expect(await membersOf(four)).toEqual(sorted(ann, bob, cat));
    // The three still in it find it, in either release.
    expect(await s.roomService.openGroup(actor(bob), bob, [ann.handle, cat.handle])).toBe(four);
    expect(await previousOpen(bob.id, [ann.id, bob.id, cat.id])).toBe(four);
  });

  it('groups down to two, or to a set another group has, are still groups to it (their people can leave there too)', async () => {
    const [ann, bob, cat, dan] = [await person(s), await person(s), await person(s), await person(s)];
    const three = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle]);
    const four = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]);
    // Left in this release down to the set `three` has: no key of people, but group-shaped.
    expect(await s.roomService.leaveConversation(actor(dan), (await s.rooms.findVisible(four, dan.id))!, dan)).toBe(true);
    expect(await keyOf(four)).toBe(`0:0:${four}`);
    expect(await previousIsGroup(four)).toBe(true);
    // ... and left in the previous release down to two: still a group in both.
    expect(await previousLeave(four, cat.id)).toBe(true);
    expect(await keyOf(four)).toBe(`0:0:${four}`);
    expect([await previousIsGroup(four), await s.rooms.isGroupConversation(four)]).toEqual([true, true]);
    // The pair opens its two-person DM in either release, not the group.
    const dm = await previousOpen(ann.id, [ann.id, bob.id]);
    expect([dm === four, dm === three]).toEqual([false, false]);
    expect(await s.roomService.openDirect(actor(bob), bob, ann)).toBe(dm);
    expect(await previousLeave(four, bob.id)).toBe(true);
    expect(await membersOf(four)).toEqual([ann.id]);
  });

  it('its leaves racing this release\'s opens of the original people never bring the leaver back, and neither fails', { timeout: 120_000 }, async () => {
    for (let round = 0; round < 8; round++) {
      const [ann, bob, cat, dan] = [await person(s), await person(s), await person(s), await person(s)];
      const id = await previousOpen(ann.id, [ann.id, bob.id, cat.id, dan.id]);
      const [, reopened] = await Promise.all([
        previousLeave(id, dan.id),
        s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]),
      ]);
      expect(await membersOf(id), `round ${round}`).toEqual(sorted(ann, bob, cat));
      expect(await keyOf(id), `round ${round}`).toBe(sorted(ann, bob, cat).join(':'));
      if (reopened !== id) expect(await membersOf(reopened), `round ${round}`).toEqual(sorted(ann, bob, cat, dan));
    }
  });
});
