// Closing a direct conversation in the sidebar (RoomService.closeConversation, POST
// /api/conversations/:id/hide) and opening it again: the mark and a conversation_hidden control event
// (which tells the person's other tabs and devices) commit together or not at all. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { TestDatabase } from '@parley/devtools';
import { actor, eventsSince, failInsertsInto, lastControlEventId, person, say, snapshot, type TestServices } from '../control/service-test-kit.ts';
import { InjectClient, person as signUpFields } from '../../testing/inject-client.ts';
import { closeServicesAndApp, servicesAndApp } from '../../testing/services-and-app.ts';

let db: TestDatabase;
let s: TestServices;
let app: FastifyInstance;
beforeAll(async () => {
  ({ db, s, app } = await servicesAndApp('admin_close_dm', { DM_CREATE_RATE_PER_USER: '100' }));
});
afterAll(() => closeServicesAndApp(db, app));

const hiddenThrough = async (roomId: number, userId: number) =>
  (await db.pool.query<{ hidden_through_seq: string | null }>('SELECT hidden_through_seq FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId])).rows[0]?.hidden_through_seq ?? null;

describe('closing a direct conversation', () => {
  it('records conversation_hidden for the closer only; opening it again records the reopening, opening an open one nothing', async () => {
    const [ann, bob] = [await person(s), await person(s)];
    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    const seq = await say(db.pool, dm, bob.id, 'hello');

    let before = await lastControlEventId(db.pool);
    expect(await s.roomService.closeConversation(ann.id, dm)).toBe(true);
    expect(Number(await hiddenThrough(dm, ann.id))).toBe(seq);
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.userId, e.roomId, e.payload])).toEqual([['conversation_hidden', ann.id, dm, { hidden: true }]]);

    // bob opening it changes nothing for ann (her sidebar keeps it closed) and records nothing.
    before = await lastControlEventId(db.pool);
    expect(await s.roomService.openDirect(actor(bob), bob, ann)).toBe(dm);
    expect(await eventsSince(db.pool, before)).toEqual([]);

    // ann opening it again: back in her sidebar, on every tab.
    expect(await s.roomService.openDirect(actor(ann), ann, bob)).toBe(dm);
    expect(await hiddenThrough(dm, ann.id)).toBeNull();
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.userId, e.roomId, e.payload])).toEqual([['conversation_hidden', ann.id, dm, { hidden: false }]]);
  });

  it('reopening (the client went to it): the mark goes with a conversation_hidden event; already open or not theirs: nothing written', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    expect(await s.roomService.closeConversation(ann.id, dm)).toBe(true);
    const before = await lastControlEventId(db.pool);
    expect(await s.roomService.reopenConversation(ann.id, dm)).toBe(true);
    expect(await hiddenThrough(dm, ann.id)).toBeNull();
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.userId, e.roomId, e.payload])).toEqual([['conversation_hidden', ann.id, dm, { hidden: false }]]);
    const snap = await snapshot(db.pool);
    expect(await s.roomService.reopenConversation(ann.id, dm)).toBe(true);
    expect(await s.roomService.reopenConversation(cat.id, dm)).toBe(false);
    const room = await s.roomService.create(actor(ann), { name: `r2-${ann.handle}`, topic: '', kind: 'public', createdBy: ann.id });
    const afterCreate = await snapshot(db.pool);
    expect(await s.roomService.reopenConversation(ann.id, room.id)).toBe(false);
    expect(await snapshot(db.pool)).toEqual(afterCreate);
    expect(snap.control_events!.length + 1).toBe(afterCreate.control_events!.length); // only the room's own event
  });

  it('refuses rooms and other people\'s conversations, writing nothing; the mark and its event commit together', async () => {
    const [ann, bob, cat] = [await person(s), await person(s), await person(s)];
    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    const room = await s.roomService.create(actor(ann), { name: `r-${ann.handle}`, topic: '', kind: 'public', createdBy: ann.id });
    const snap = await snapshot(db.pool);
    expect(await s.roomService.closeConversation(ann.id, room.id)).toBe(false);
    expect(await s.roomService.closeConversation(cat.id, dm)).toBe(false);
    expect(await snapshot(db.pool)).toEqual(snap);

    const restore = await failInsertsInto(db.pool, 'control_events');
    try {
      await expect(s.roomService.closeConversation(ann.id, dm)).rejects.toThrow(/forced failure/);
    } finally {
      await restore();
    }
    expect(await snapshot(db.pool)).toEqual(snap);
  });

  it('POST /api/conversations/:id/hide and /reopen go through the service (with their events)', async () => {
    const client = new InjectClient(app, '198.51.100.50');
    const me = signUpFields('closer');
    expect((await client.post('/signup', me)).statusCode).toBe(303);
    expect((await client.logIn(me.email, me.password)).statusCode).toBe(303);
    const bob = await person(s);
    const opened = await client.post('/direct', { handle: `@${bob.handle}` }, '/rooms');
    const dm = Number(/\/rooms\/(\d+)$/.exec(String(opened.headers.location))![1]);
    const before = await lastControlEventId(db.pool);
    expect((await client.post(`/api/conversations/${dm}/hide`, {}, '/chat')).statusCode).toBe(200);
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.roomId, e.payload])).toEqual([['conversation_hidden', dm, { hidden: true }]]);
    expect((await client.post(`/api/conversations/${dm + 1_000_000}/hide`, {}, '/chat')).statusCode).toBe(404);
    expect((await client.post(`/api/conversations/${dm}/reopen`, {}, '/chat')).statusCode).toBe(200);
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.roomId, e.payload])).toEqual([['conversation_hidden', dm, { hidden: true }], ['conversation_hidden', dm, { hidden: false }]]);
    expect((await client.post(`/api/conversations/${dm + 1_000_000}/reopen`, {}, '/chat')).statusCode).toBe(404);
  });
});
