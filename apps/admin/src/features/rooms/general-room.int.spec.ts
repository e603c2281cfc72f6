// A fresh install's #general (migration 0008): there from the start, joined by everyone who signs up
// and by the bootstrap admin (with member_added events, so open sidebars learn of it), and where a
// login lands (/chat opens it). Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { TestDatabase } from '@parley/devtools';
import { createLogger } from '@parley/logging';
import { eventsSince, lastControlEventId, type TestServices } from '../control/service-test-kit.ts';
import { InjectClient, person } from '../../testing/inject-client.ts';
import { ensureFirstAdmin } from '../../bootstrap-admin.ts';
import { closeServicesAndApp, servicesAndApp } from '../../testing/services-and-app.ts';

let db: TestDatabase;
let s: TestServices;
let app: FastifyInstance;
beforeAll(async () => {
  ({ db, s, app } = await servicesAndApp('admin_general_room'));
});
afterAll(() => closeServicesAndApp(db, app));

const general = async () => (await db.pool.query<{ id: string; kind: string; auto_join: boolean }>(`SELECT id, kind, auto_join FROM rooms WHERE lower(name) = 'general'`)).rows;
const isMember = async (roomId: number, userId: number) => s.rooms.isMember(db.pool, roomId, userId);

describe('#general', () => {
  it('exists once on a fresh database, public and joined automatically', async () => {
    expect((await general()).map((r) => ({ kind: r.kind, auto_join: r.auto_join }))).toEqual([{ kind: 'public', auto_join: true }]);
  });

  it('sign-up joins it (with a member_added event) and login lands on /chat', async () => {
    const roomId = Number((await general())[0]!.id);
    const before = await lastControlEventId(db.pool);
    const who = person('newbie');
    const client = new InjectClient(app, '198.51.100.60');
    expect((await client.post('/signup', who)).statusCode).toBe(303);
    const user = (await s.users.findByHandle(who.handle))!;
    expect(await isMember(roomId, user.id)).toBe(true);
    expect((await eventsSince(db.pool, before)).map((e) => [e.kind, e.userId, e.roomId])).toEqual([['member_added', user.id, roomId]]);

    const login = await client.logIn(who.email, who.password);
    expect([login.statusCode, login.headers.location]).toEqual([303, '/chat']);
    expect((await client.request('GET', '/')).headers.location).toBe('/chat');
    const [conversation] = (await client.request('GET', '/api/conversations')).json<{ conversations: Array<{ id: number; name: string }> }>().conversations;
    expect(conversation).toMatchObject({ id: roomId, name: 'general' });
  });

  it('the bootstrap admin joins it too; an archived auto-join room is not joined', async () => {
    const roomId = Number((await general())[0]!.id);
    await ensureFirstAdmin(db.pool, s.users, 'boss@example.test', 'a long admin password 42', createLogger('admin', 'silent'));
    const admin = (await s.users.findByEmail('boss@example.test'))!;
    expect(await isMember(roomId, admin.id)).toBe(true);

    await db.pool.query('UPDATE rooms SET archived_at = now() WHERE id = $1', [roomId]);
    try {
      const who = person('late');
      expect((await new InjectClient(app, '198.51.100.61').post('/signup', who)).statusCode).toBe(303);
      expect(await isMember(roomId, (await s.users.findByHandle(who.handle))!.id)).toBe(false);
    } finally {
      await db.pool.query('UPDATE rooms SET archived_at = NULL WHERE id = $1', [roomId]);
    }
  });
});
