import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { RoomRepository } from '../rooms/room-repository.ts';
import { ConversationRepository } from './conversation-repository.ts';

let db: TestDatabase;
let conversations: ConversationRepository;
let rooms: RoomRepository;
const users: Record<string, number> = {};

async function post(room: number, author: number, body: string, deleted = false, replyTo: number | null = null): Promise<number> {
  const { rows } = await db.pool.query<{ last_seq: number }>('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [room]);
  const seq = Number(rows[0]!.last_seq);
  await db.pool.query(
    `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, deleted_at, reply_to_seq) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [room, seq, author, `c${room}-${seq}`, body, deleted ? new Date() : null, replyTo],
  );
  return seq;
}

beforeAll(async () => {
  db = await createTestDatabase('admin_conversations');
  conversations = new ConversationRepository(db.pool);
  rooms = new RoomRepository(db.pool);
  for (const h of ['ann', 'bob', 'annabel']) {
    const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`, [`${h}@x.test`, h, h.toUpperCase()]);
    users[h] = Number(rows[0]!.id);
  }
});
afterAll(async () => db?.drop());

describe('ConversationRepository', () => {
  it('lists the rooms and DMs a person belongs to with unread and mention counts from the read pointer', async () => {
    const { ann, bob, annabel } = users as { ann: number; bob: number; annabel: number };
    const general = (await rooms.create({ name: 'Town square', topic: 't', kind: 'public', createdBy: bob })).id;
    await db.pool.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)', [general, ann]);
    await rooms.create({ name: 'Not mine', topic: '', kind: 'public', createdBy: bob });
    const dm = await rooms.openDirect(bob, ann);
    await post(general, bob, 'hello');
    await post(general, ann, 'my own message does not count');
    const mention = await post(general, bob, 'hey @ann, look');
    await post(general, bob, '@annabel is not @ann_ but @ANN counts');
    await post(general, bob, 'email ann@x.test is no mention; @room from a plain user is none either');
    await post(general, bob, '@ann deleted', true);
    await post(dm, bob, 'psst');

    const list = await conversations.list({ id: ann, handle: 'ann' });
    expect(list.map((c) => c.name).sort()).toEqual(['Town square', `dm ${Math.min(ann, bob)}:${Math.max(ann, bob)}`].sort());
    const g = list.find((c) => c.id === general)!;
    expect(g).toMatchObject({ kind: 'public', lastSeq: 6, lastReadSeq: 0, unread: 4, mentionSeqs: [mention, mention + 1], notificationsMuted: false, peer: null, peers: [] });
    expect(g.lastActivityAt).not.toBeNull();
    const d = list.find((c) => c.id === dm)!;
    expect(d).toMatchObject({ kind: 'direct', unread: 1, mentionSeqs: [], peer: { id: bob, handle: 'bob', displayName: 'BOB' }, peers: [{ id: bob, handle: 'bob', displayName: 'BOB' }] });

    // The read pointer moves: counts follow, and survive a reload (they come from Postgres).
    await db.pool.query('UPDATE room_members SET last_read_seq = $3 WHERE room_id = $1 AND user_id = $2', [general, ann, mention]);
    const after = (await conversations.list({ id: ann, handle: 'ann' }, general))[0]!;
    expect(after).toMatchObject({ lastReadSeq: mention, unread: 2, mentionSeqs: [mention + 1] });

    expect(await conversations.setNotificationsMuted(general, ann, true)).toBe(true);
    expect((await conversations.list({ id: ann, handle: 'ann' }, general))[0]!.notificationsMuted).toBe(true);
    expect(await conversations.setNotificationsMuted(general, annabel, true)).toBe(false); // not a member
    expect((await conversations.mentionable(general, ann)).map((u) => u.handle)).toEqual(['ann', 'bob']);
    expect(await conversations.mentionable(general, annabel)).toEqual([]);
  });

  it('@room is a mention only when a moderator or admin wrote it', async () => {
    const { ann, bob } = users as { ann: number; bob: number };
    const mods: Record<string, number> = {};
    for (const [h, role] of [['modi', 'moderator'], ['adam', 'admin']] as const) {
      const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ($1, $2, $3, 'x', $4) RETURNING id`, [`${h}@x.test`, h, h, role]);
      mods[h] = Number(rows[0]!.id);
    }
    const room = (await rooms.create({ name: 'Everyone', topic: '', kind: 'public', createdBy: bob })).id;
    await db.pool.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)', [room, ann]);
    await post(room, bob, '@room lunch?');
    const byMod = await post(room, mods.modi!, 'heads up @room');
    const byAdmin = await post(room, mods.adam!, '@ROOM: maintenance at 6');
    await post(room, bob, 'hey @room, @roomy is someone else');
    const byBobToAnn = await post(room, bob, '@room and @ann');

    const conv = (await conversations.list({ id: ann, handle: 'ann' }, room))[0]!;
    expect(conv).toMatchObject({ unread: 5, mentionSeqs: [byMod, byAdmin, byBobToAnn] });
    // The author's role when they wrote it decides, not today's: demoting the moderator keeps their
    // @room a mention, and promoting bob does not turn his earlier @room into one.
    await db.pool.query(`UPDATE users SET role = 'user' WHERE id = $1`, [mods.modi]);
    await db.pool.query(`UPDATE users SET role = 'moderator' WHERE id = $1`, [bob]);
    expect((await conversations.list({ id: ann, handle: 'ann' }, room))[0]!.mentionSeqs).toEqual([byMod, byAdmin, byBobToAnn]);
    // What bob writes as a moderator does count.
    const byBobAsMod = await post(room, bob, '@room now it counts');
    expect((await conversations.list({ id: ann, handle: 'ann' }, room))[0]!.mentionSeqs).toEqual([byMod, byAdmin, byBobToAnn, byBobAsMod]);
    await db.pool.query(`UPDATE users SET role = 'user' WHERE id = $1`, [bob]);
  });

  it('a reply to one of your messages counts as a mention; replies to others do not', async () => {
    const { ann, bob, annabel } = users as { ann: number; bob: number; annabel: number };
    const room = (await rooms.create({ name: 'Replies', topic: '', kind: 'public', createdBy: bob })).id;
    await db.pool.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)', [room, ann]);
    const annSays = await post(room, ann, 'a question');
    const bobSays = await post(room, bob, 'something else');
    await db.pool.query('UPDATE room_members SET last_read_seq = $3 WHERE room_id = $1 AND user_id = $2', [room, ann, bobSays]);
    const replyToAnn = await post(room, bob, 'an answer', false, annSays);
    await post(room, annabel, 'a reply to bob', false, bobSays);
    await post(room, bob, 'a deleted reply', true, annSays);
    const conv = (await conversations.list({ id: ann, handle: 'ann' }, room))[0]!;
    expect(conv).toMatchObject({ unread: 2, mentionSeqs: [replyToAnn] });
    expect((await conversations.list({ id: bob, handle: 'bob' }, room))[0]!.mentionSeqs).toEqual([bobSays + 2]);
  });

  it('closing a direct conversation hides it until its next message or until it is opened again; rooms cannot be closed', async () => {
    const { ann, bob } = users as { ann: number; bob: number };
    const dm = await rooms.openDirect(ann, bob);
    const hidden = async () => (await conversations.list({ id: ann, handle: 'ann' }, dm))[0]!.hiddenThroughSeq;
    const seq = await post(dm, bob, 'before closing');
    expect(await rooms.hide(db.pool, dm, ann)).toBe(true);
    expect(await hidden()).toBe(seq);
    // Only for the one who closed it.
    expect((await conversations.list({ id: bob, handle: 'bob' }, dm))[0]!.hiddenThroughSeq).toBeNull();
    // A new message passes the mark (the client shows it again); opening it again clears the mark.
    expect(await post(dm, bob, 'after closing')).toBeGreaterThan(seq);
    expect(await rooms.openDirect(ann, bob)).toBe(dm);
    expect(await hidden()).toBeNull();
    // Not a direct conversation, or not a member: nothing to close.
    const room = (await rooms.create({ name: 'Not closable', topic: '', kind: 'public', createdBy: ann })).id;
    expect(await rooms.hide(db.pool, room, ann)).toBe(false);
    expect(await rooms.hide(db.pool, dm, users.annabel!)).toBe(false);
  });
});
