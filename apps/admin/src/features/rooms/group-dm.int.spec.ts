// Group conversations (RoomService.openGroup): created once per set of people and reopened while exactly
// that set is in it (someone who left is never brought back, also when a leave races the open), at most
// 8 people, unknown handles named, and the room, its members, the audit entry and every member_added
// event commit together or not at all. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { TestDatabase } from '@parley/devtools';
import { actor, eventsSince, failInsertsInto, lastControlEventId, person, snapshot, type TestServices } from '../control/service-test-kit.ts';
import { ConversationRepository } from '../conversations/conversation-repository.ts';
import { InjectClient, person as signUpFields } from '../../testing/inject-client.ts';
import { GROUP_DM_LIMIT } from './service.ts';
import { closeServicesAndApp, servicesAndApp } from '../../testing/services-and-app.ts';

let db: TestDatabase;
let s: TestServices;
let app: FastifyInstance;
beforeAll(async () => {
  ({ db, s, app } = await servicesAndApp('admin_group_dm', { DM_CREATE_RATE_PER_USER: '100' }));
});
afterAll(() => closeServicesAndApp(db, app));

describe('RoomService.openGroup', () => {
  it('creates one group per set of people, announces every member, audits once, and reopens it for the same set', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    const before = await lastControlEventId(db.pool);
    const id = await s.roomService.openGroup(actor(ann), ann, [`@${bob.handle}`, cat.handle.toUpperCase()]);

    const events = await eventsSince(db.pool, before);
    expect(events.map((e) => [e.kind, e.userId, e.roomId]).sort()).toEqual([ann, bob, cat].map((u) => ['member_added', u.id, id]).sort());
    const { rows: room } = await db.pool.query('SELECT kind, direct_key FROM rooms WHERE id = $1', [id]);
    expect(room).toEqual([{ kind: 'direct', direct_key: [ann.id, bob.id, cat.id].sort((a, b) => a - b).join(':') }]);
    const { rows: audit } = await db.pool.query(`SELECT action, actor_id, details FROM audit_log WHERE target_id = $1::text`, [id]);
    expect(audit).toEqual([{ action: 'room.direct_opened', actor_id: ann.id, details: { userIds: [ann.id, bob.id, cat.id].sort((a, b) => a - b) } }]);

    // Same people, another order, another opener: the same room, nothing written.
    const snap = await snapshot(db.pool);
    expect(await s.roomService.openGroup(actor(cat), cat, [bob.handle, ann.handle, cat.handle])).toBe(id);
    expect(await snapshot(db.pool)).toEqual(snap);

    // A different set is a different room; two people is the plain DM of the pair.
    expect(await s.roomService.openGroup(actor(ann), ann, [bob.handle])).toBe(await s.roomService.openDirect(actor(bob), bob, ann));
    expect(await s.roomService.openGroup(actor(ann), ann, [bob.handle])).not.toBe(id);

    // Everyone's sidebar lists it as a direct conversation with the others' names.
    const [forBob] = await new ConversationRepository(db.pool).list(bob, id);
    expect(forBob).toMatchObject({ kind: 'direct', peers: [ann, cat].map((u) => ({ id: u.id, handle: u.handle, displayName: u.displayName })) });
    // The /rooms page lists it once, with both other people.
    const listed = (await s.rooms.listDirect(bob.id)).filter((d) => d.id === id);
    expect(listed.map((d) => d.others.map((o) => o.handle))).toEqual([[ann, cat].sort((x, y) => x.id - y.id).map((u) => u.handle)]);
  });

  it('refuses more than 8 people and unknown handles, naming them, without writing anything', async () => {
    const opener = await person(s);
    const others = [];
    for (let i = 0; i < GROUP_DM_LIMIT; i++) others.push(await person(s));
    const snap = await snapshot(db.pool);
    await expect(s.roomService.openGroup(actor(opener), opener, others.map((u) => u.handle)))
      .rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/at most 8 people/) as unknown });
    await expect(s.roomService.openGroup(actor(opener), opener, [others[0]!.handle, 'nobody_here', 'ghost_two']))
      .rejects.toMatchObject({ statusCode: 404, message: 'Nobody is called @nobody_here, @ghost_two.' });
    await expect(s.roomService.openGroup(actor(opener), opener, [opener.handle])).rejects.toMatchObject({ statusCode: 400 });
    expect(await snapshot(db.pool)).toEqual(snap);

    // Exactly 8 (the opener and 7 others) is fine.
    const id = await s.roomService.openGroup(actor(opener), opener, others.slice(0, GROUP_DM_LIMIT - 1).map((u) => u.handle));
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM room_members WHERE room_id = $1', [id]);
    expect(rows[0]?.n).toBe(GROUP_DM_LIMIT);
  });

  it('writes the room, its members, the audit entry and the events in one transaction', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    for (const table of ['audit_log', 'control_events'] as const) {
      const before = await snapshot(db.pool);
      const restore = await failInsertsInto(db.pool, table);
      try {
        await expect(s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle]), `failing in ${table}`).rejects.toThrow(/forced failure/);
      } finally {
        await restore();
      }
      expect(await snapshot(db.pool), `nothing changed when ${table} failed`).toEqual(before);
    }
  });

  it('the "Message @handle" form: several handles open the group; errors say which handles and how many', async () => {
    const client = new InjectClient(app, '198.51.100.40');
    const me = signUpFields('grp');
    expect((await client.post('/signup', me)).statusCode).toBe(303);
    expect((await client.logIn(me.email, me.password)).statusCode).toBe(303);
    const others = [];
    for (let i = 0; i < GROUP_DM_LIMIT; i++) others.push(await person(s));

    const opened = await client.post('/direct', { handle: `@${others[0]!.handle} @${others[1]!.handle},${others[2]!.handle}` }, '/rooms');
    expect(opened.statusCode).toBe(303);
    const id = Number(/\/rooms\/(\d+)$/.exec(String(opened.headers.location))![1]);
    expect((await s.rooms.members(id)).map((m) => m.handle).sort()).toEqual([me.handle, ...others.slice(0, 3).map((u) => u.handle)].sort());
    const again = await client.post('/direct', { handle: `${others[2]!.handle} ${others[0]!.handle} ${others[1]!.handle}` }, '/rooms');
    expect(again.headers.location).toBe(`/rooms/${id}`);

    const unknown = await client.post('/direct', { handle: `@${others[0]!.handle} @nobody_zz` }, '/rooms');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('Nobody is called @nobody_zz.');
    const tooMany = await client.post('/direct', { handle: others.map((u) => `@${u.handle}`).join(' ') }, '/rooms');
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.body).toContain('at most 8 people');
  });

  it('leaving a group conversation: member_removed for the leaver, room_updated for the rest, audited; a two-person DM cannot be left', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    const id = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle]);
    const room = (await s.rooms.findVisible(id, cat.id))!;
    const before = await lastControlEventId(db.pool);
    expect(await s.roomService.leaveConversation(actor(cat), room, cat)).toBe(true);
    const events = await eventsSince(db.pool, before);
    expect(events.map((e) => [e.kind, e.userId, e.roomId])).toEqual([['member_removed', cat.id, id], ['room_updated', null, id]]);
    expect((await s.rooms.members(id)).map((m) => m.id).sort((x, y) => x - y)).toEqual([ann.id, bob.id].sort((x, y) => x - y));
    const { rows: audit } = await db.pool.query(`SELECT action, actor_id FROM audit_log WHERE target_id = $1::text AND action = 'room.member_left'`, [id]);
    expect(audit).toEqual([{ action: 'room.member_left', actor_id: cat.id }]);
    // Gone from their list, still in the others'.
    expect(await new ConversationRepository(db.pool).list(cat, id)).toEqual([]);
    expect((await new ConversationRepository(db.pool).list(bob, id))[0]!.peers.map((p) => p.id)).toEqual([ann.id]);
    // Twice: nothing more happens.
    expect(await s.roomService.leaveConversation(actor(cat), room, cat)).toBe(false);
    // Even with two people left, it stays a group, so the next may leave too.
    expect(await s.rooms.isGroupConversation(id)).toBe(true);

    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    const snap = await snapshot(db.pool);
    await expect(s.roomService.leaveConversation(actor(ann), (await s.rooms.findVisible(dm, ann.id))!, ann)).rejects.toThrow(/Only group conversations/);
    expect(await snapshot(db.pool)).toEqual(snap);
  });

  it('a group is found by who is in it now: opening the original people again does not bring back someone who left', async () => {
    const [ann, bob, cat, dan] = [await person(s), await person(s), await person(s), await person(s)];
    const sorted = (...us: Array<{ id: number }>) => us.map((u) => u.id).sort((x, y) => x - y);
    const keyOf = async (id: number) => (await db.pool.query<{ direct_key: string | null }>('SELECT direct_key FROM rooms WHERE id = $1', [id])).rows[0]!.direct_key;
    const membersOf = async (id: number) => (await s.rooms.members(id)).map((m) => m.id).sort((x, y) => x - y);
    const four = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]);
    expect(await s.roomService.leaveConversation(actor(dan), (await s.rooms.findVisible(four, dan.id))!, dan)).toBe(true);
    expect(await keyOf(four)).toBe(sorted(ann, bob, cat).join(':'));

    // The original four again: a new conversation; dan is not put back into the old one.
    const fourAgain = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]);
    expect(fourAgain).not.toBe(four);
    expect(await membersOf(four)).toEqual(sorted(ann, bob, cat));
    expect(await membersOf(fourAgain)).toEqual(sorted(ann, bob, cat, dan));
    // The three still in the first one: that one, by anyone of them, with nothing written.
    const snap = await snapshot(db.pool);
    expect(await s.roomService.openGroup(actor(bob), bob, [cat.handle, ann.handle])).toBe(four);
    expect(await snapshot(db.pool)).toEqual(snap);

    // A set another group already has: the one that shrank to it gives the key up (no two rooms share one)
    // for one nobody opens by naming people (no user has id 0), still group-shaped for the previous release.
    expect(await s.roomService.leaveConversation(actor(dan), (await s.rooms.findVisible(fourAgain, dan.id))!, dan)).toBe(true);
    expect(await keyOf(fourAgain)).toBe(`0:0:${fourAgain}`);
    expect(await s.roomService.openGroup(actor(cat), cat, [ann.handle, bob.handle])).toBe(four);
    // Down to two: no key of people; that pair opens its two-person DM, and the group can still be left.
    expect(await s.roomService.leaveConversation(actor(cat), (await s.rooms.findVisible(four, cat.id))!, cat)).toBe(true);
    expect(await keyOf(four)).toBe(`0:0:${four}`);
    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    expect(dm).not.toBe(four);
    expect(await s.rooms.isGroupConversation(four)).toBe(true);
    expect(await s.rooms.isGroupConversation(dm)).toBe(false);
    // The sidebar says so too (the web client offers Leave, not Close, with one other person left).
    const conversations = new ConversationRepository(db.pool);
    expect([(await conversations.list(ann, four))[0]?.group, (await conversations.list(ann, dm))[0]?.group]).toEqual([true, false]);
  });

  it('a leave racing an open of the original people never brings the leaver back', { timeout: 120_000 }, async () => {
    for (let round = 0; round < 8; round++) {
      const [ann, bob, cat, dan] = [await person(s), await person(s), await person(s), await person(s)];
      const id = await s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]);
      const room = (await s.rooms.findVisible(id, dan.id))!;
      const [, reopened] = await Promise.all([
        s.roomService.leaveConversation(actor(dan), room, dan),
        s.roomService.openGroup(actor(ann), ann, [bob.handle, cat.handle, dan.handle]),
      ]);
      const members = (await s.rooms.members(id)).map((m) => m.id);
      // Either the open came first (same room, dan leaves after) or the leave did (a new room with dan).
      expect(members, `round ${round}`).not.toContain(dan.id);
      if (reopened !== id) expect((await s.rooms.members(reopened)).map((m) => m.id).sort((x, y) => x - y)).toEqual([ann.id, bob.id, cat.id, dan.id].sort((x, y) => x - y));
    }
  });

  it('POST /api/conversations/:id/leave: members of a group only, with the CSRF token', async () => {
    const client = new InjectClient(app, '198.51.100.41');
    const me = signUpFields('leaver');
    expect((await client.post('/signup', me)).statusCode).toBe(303);
    expect((await client.logIn(me.email, me.password)).statusCode).toBe(303);
    const [bob, cat] = [await person(s), await person(s)];
    const opened = await client.post('/direct', { handle: `@${bob.handle} @${cat.handle}` }, '/rooms');
    const id = Number(/\/rooms\/(\d+)$/.exec(String(opened.headers.location))![1]);
    const forged = await app.inject({ method: 'POST', url: `/api/conversations/${id}/leave`, headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/json' }, payload: '{}' });
    expect(forged.statusCode).toBe(403);
    expect((await s.rooms.members(id)).some((m) => m.handle === me.handle)).toBe(true);
    expect((await client.post(`/api/conversations/${id}/leave`, {}, '/chat')).statusCode).toBe(200);
    expect((await s.rooms.members(id)).some((m) => m.handle === me.handle)).toBe(false);
    // No longer a member: as if it did not exist.
    expect((await client.post(`/api/conversations/${id}/leave`, {}, '/chat')).statusCode).toBe(404);
  });
});
