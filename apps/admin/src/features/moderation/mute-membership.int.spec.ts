// Muting or unmuting someone never makes them a room member (issue 8, point 5): before, a moderator
// could thereby put an outsider into a private room or a direct conversation. In private and direct
// rooms only members can be muted; in a public room a non-member's mute is kept apart from membership
// (room_mutes) and announced to chat by a `mute` control event. Through the real routes (page form and
// JSON API), real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import { person, servicesFor, type TestServices } from '../control/service-test-kit.ts';
import { type Browser, postForm, postJson, signIn, testApp } from '../control/app-test-kit.ts';

let db: TestDatabase;
let app: FastifyInstance;
let s: TestServices;
let admin: Browser;
const ids = {} as Record<'owner' | 'outsider' | 'peer' | 'admin', number>;
const rooms = {} as Record<'pub' | 'secret' | 'dm', number>;
const handles = {} as Record<'outsider', string>;

beforeAll(async () => {
  db = await createTestDatabase('admin_mute_membership');
  const sessions = new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
  s = servicesFor(db.pool, sessions);
  app = await testApp(db.pool, db.url, sessions);
  const [adminUser, owner, outsider, peer] = [await person(s, 'admin'), await person(s), await person(s), await person(s)];
  Object.assign(ids, { admin: adminUser.id, owner: owner.id, outsider: outsider.id, peer: peer.id });
  handles.outsider = outsider.handle;
  admin = await signIn(app, sessions, adminUser.id);
  rooms.pub = (await s.rooms.create({ name: 'Lobby', topic: '', kind: 'public', createdBy: owner.id })).id;
  rooms.secret = (await s.rooms.create({ name: 'Secret', topic: '', kind: 'private', createdBy: owner.id })).id;
  // The admin is in this DM, so the room page's moderator actions apply to it.
  rooms.dm = await s.rooms.openDirect(adminUser.id, peer.id);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const membership = async (roomId: number, userId: number) => (await db.pool.query('SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId])).rowCount;
const muteRow = async (roomId: number, userId: number) => (await db.pool.query('SELECT muted_until FROM room_mutes WHERE room_id = $1 AND user_id = $2', [roomId, userId])).rows[0] as { muted_until: Date } | undefined;
const events = async (userId: number) => (await db.pool.query<{ kind: string; room_id: number | null; payload: { until?: string } }>('SELECT kind, room_id, payload FROM control_events WHERE user_id = $1 ORDER BY id', [userId])).rows;

describe('muting never creates membership', () => {
  it('refuses to mute an outsider in a private room (form and API); nothing is written', async () => {
    const form = await postForm(app, admin, '/admin/moderation/mute', { room: String(rooms.secret), handle: handles.outsider, minutes: '15' });
    expect(form.statusCode).toBe(404);
    expect(form.body).toContain('is not a member of this room');
    const api = await postJson(app, admin, '/admin/api/mute', { room: rooms.secret, userId: ids.outsider, minutes: 15 });
    expect(api.statusCode).toBe(404);
    expect(await membership(rooms.secret, ids.outsider)).toBe(0);
    expect(await muteRow(rooms.secret, ids.outsider)).toBeUndefined();
    expect(await events(ids.outsider)).toEqual([]);
  });

  it('refuses to mute an outsider in a direct conversation', async () => {
    const api = await postJson(app, admin, '/admin/api/mute', { room: rooms.dm, userId: ids.outsider, minutes: 15 });
    expect(api.statusCode).toBe(404);
    expect(await membership(rooms.dm, ids.outsider)).toBe(0);
  });

  it('unmuting an outsider does not make them a member either', async () => {
    for (const room of [rooms.secret, rooms.dm, rooms.pub]) {
      const res = await postForm(app, admin, '/admin/moderation/unmute', { room: String(room), userId: String(ids.outsider) });
      expect([303, 404]).toContain(res.statusCode);
      expect(await membership(room, ids.outsider), `room ${room}`).toBe(0);
    }
  });

  it('mutes a non-member of a public room without making them a member, and tells chat', async () => {
    const res = await postForm(app, admin, '/admin/moderation/mute', { room: String(rooms.pub), handle: handles.outsider, minutes: '15' });
    expect(res.statusCode).toBe(303);
    expect(await membership(rooms.pub, ids.outsider)).toBe(0);
    expect((await muteRow(rooms.pub, ids.outsider))?.muted_until.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    const mutes = (await events(ids.outsider)).filter((e) => e.kind === 'mute' && e.room_id === rooms.pub);
    expect(mutes.at(-1)?.payload.until).toEqual(expect.any(String));
    // The moderation page lists the mute (so it can be lifted) although they are not a member.
    const page = await app.inject({ method: 'GET', url: `/admin/moderation?room=${rooms.pub}`, headers: { cookie: admin.cookie, accept: 'text/html' } });
    expect(page.body).toMatch(new RegExp(`id="muted"[\\s\\S]*@${handles.outsider}`));

    const unmute = await postJson(app, admin, '/admin/api/mute', { room: rooms.pub, userId: ids.outsider, minutes: null });
    expect(unmute.statusCode).toBe(200);
    expect(await muteRow(rooms.pub, ids.outsider)).toBeUndefined();
    expect(await membership(rooms.pub, ids.outsider)).toBe(0);
    expect((await events(ids.outsider)).at(-1)).toMatchObject({ kind: 'mute', room_id: rooms.pub, payload: { until: null } });
  });

  it('mutes a member of a private room (and keeps the member row in step for chat)', async () => {
    const res = await postJson(app, admin, '/admin/api/mute', { room: rooms.secret, userId: ids.owner, minutes: 5 });
    expect(res.statusCode).toBe(200);
    const { rows } = await db.pool.query<{ muted_until: Date | null }>('SELECT muted_until FROM room_members WHERE room_id = $1 AND user_id = $2', [rooms.secret, ids.owner]);
    expect(rows[0]?.muted_until).toBeInstanceOf(Date);
    expect(await muteRow(rooms.secret, ids.owner)).toBeDefined();
  });
});
