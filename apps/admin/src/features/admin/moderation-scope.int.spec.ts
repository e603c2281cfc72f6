// Which rooms staff may read and moderate: moderators public rooms and private rooms they belong to,
// admins every public and private room; direct conversations never appear on the moderation page, and
// moderation actions (page forms and the room page's JSON API) follow the same rule. Real Postgres,
// app.inject(), chat unreachable (calls fail fast).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { createLogger } from '@parley/logging';
import { buildApp } from '../../app.ts';
import { adminConfigSchema } from '../../config.ts';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import { ChatInternalClient } from '../chat/chat-client.ts';
import { MemoryAttemptLimiter } from '../auth/attempt-limiter.ts';
import { type Role, UserRepository } from '../users/user-repository.ts';
import { RoomRepository } from '../rooms/room-repository.ts';

let db: TestDatabase;
let app: FastifyInstance;
type Person = { id: number; cookie: string; csrf: string };
const people = {} as Record<'owner' | 'moderator' | 'admin', Person>;
const rooms = {} as Record<'pub' | 'secret' | 'modsClub' | 'dm', number>;

async function signedIn(name: string, role: Role, sessions: PgSessionStore, users: UserRepository): Promise<Person> {
  const user = await users.create({ email: `${name}@example.test`, handle: `${name}_person`, displayName: `A ${name}`, password: 'a password of some length', role });
  const { cookieValue } = await sessions.create(user.id, { ip: '127.0.0.1', userAgent: 'test' });
  const cookie = `parley_sid=${cookieValue}`;
  const page = await app.inject({ method: 'GET', url: '/rooms', headers: { cookie, accept: 'text/html' } });
  const csrfCookie = page.cookies.find((c) => c.name === 'parley_csrf')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { id: user.id, cookie: `${cookie}; parley_csrf=${csrfCookie.value}`, csrf };
}

/** One message per room, stored the way chat stores them (seq 1). */
async function say(roomId: number, authorId: number, body: string): Promise<void> {
  await db.pool.query('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1', [roomId]);
  await db.pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, (SELECT last_seq FROM rooms WHERE id = $1), $2, $3, $4)`, [roomId, authorId, `c-${roomId}`, body]);
}

beforeAll(async () => {
  db = await createTestDatabase('admin_mod_scope');
  const config = adminConfigSchema.parse({
    NODE_ENV: 'test', DATABASE_URL: db.url, INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32),
    CHAT_INTERNAL_URL: 'http://127.0.0.1:9',
  });
  const sessions = new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
  app = await buildApp({
    config, log: createLogger('admin', 'silent'), pool: db.pool, redis: null, sessions,
    chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN, 300), loginFailures: new MemoryAttemptLimiter(60_000), registry: new Registry(),
  });
  await app.ready();
  const users = new UserRepository(db.pool);
  people.owner = await signedIn('owner', 'user', sessions, users);
  people.moderator = await signedIn('moderator', 'moderator', sessions, users);
  people.admin = await signedIn('admin', 'admin', sessions, users);
  const repo = new RoomRepository(db.pool);
  rooms.pub = (await repo.create({ name: 'Town square', topic: '', kind: 'public', createdBy: people.owner.id })).id;
  rooms.secret = (await repo.create({ name: 'Secret plans', topic: '', kind: 'private', createdBy: people.owner.id })).id;
  rooms.modsClub = (await repo.create({ name: 'Mods club', topic: '', kind: 'private', createdBy: people.owner.id })).id;
  await repo.addMember(rooms.modsClub, people.moderator.id);
  rooms.dm = await repo.openDirect(people.owner.id, people.moderator.id);
  await say(rooms.pub, people.owner.id, 'PUBLIC-BODY');
  await say(rooms.secret, people.owner.id, 'SECRET-BODY');
  await say(rooms.modsClub, people.owner.id, 'MODSCLUB-BODY');
  await say(rooms.dm, people.owner.id, 'DIRECT-BODY');
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const page = (who: Person, room?: number) =>
  app.inject({ method: 'GET', url: `/admin/moderation${room ? `?room=${room}` : ''}`, headers: { cookie: who.cookie, accept: 'text/html' } });
const form = (who: Person, url: string, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ _csrf: who.csrf, ...fields }).toString() });
const api = (who: Person, url: string, body: unknown) =>
  app.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/json', 'x-csrf-token': who.csrf }, payload: JSON.stringify(body) });
const deletedAt = async (roomId: number) => (await db.pool.query<{ deleted_at: Date | null }>('SELECT deleted_at FROM messages WHERE room_id = $1', [roomId])).rows[0]!.deleted_at;

describe('moderation scope', () => {
  it('moderators see public rooms and private rooms they belong to; never others\' private rooms or direct messages', async () => {
    const list = await page(people.moderator);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Town square');
    expect(list.body).toContain('Mods club');
    expect(list.body).not.toContain('Secret plans');
    expect(list.body).not.toMatch(/dm \d+:\d+/);

    expect((await page(people.moderator, rooms.pub)).body).toContain('PUBLIC-BODY');
    expect((await page(people.moderator, rooms.modsClub)).body).toContain('MODSCLUB-BODY');
    for (const room of [rooms.secret, rooms.dm]) {
      const res = await page(people.moderator, room);
      expect(res.statusCode, `room ${room}`).toBe(404);
      expect(res.body).not.toMatch(/SECRET-BODY|DIRECT-BODY/);
    }
  });

  it('admins see every public and private room, but no direct messages', async () => {
    const list = await page(people.admin);
    for (const name of ['Town square', 'Mods club', 'Secret plans']) expect(list.body).toContain(name);
    expect(list.body).not.toMatch(/dm \d+:\d+/);
    expect((await page(people.admin, rooms.secret)).body).toContain('SECRET-BODY');
    const dm = await page(people.admin, rooms.dm);
    expect(dm.statusCode).toBe(404);
    expect(dm.body).not.toContain('DIRECT-BODY');
  });

  it('a moderator cannot delete or mute in a private room they are not in (page forms and JSON API); nothing changes', async () => {
    expect((await form(people.moderator, '/admin/moderation/delete', { room: String(rooms.secret), seq: '1' })).statusCode).toBe(404);
    expect((await api(people.moderator, '/admin/api/messages/delete', { room: rooms.secret, seq: 1 })).statusCode).toBe(404);
    expect((await form(people.moderator, '/admin/moderation/mute', { room: String(rooms.secret), handle: 'owner_person', minutes: '15' })).statusCode).toBe(404);
    expect((await api(people.moderator, '/admin/api/mute', { room: rooms.secret, userId: people.owner.id, minutes: 15 })).statusCode).toBe(404);
    expect((await form(people.moderator, '/admin/moderation/unmute', { room: String(rooms.secret), userId: String(people.owner.id) })).statusCode).toBe(404);
    expect(await deletedAt(rooms.secret)).toBeNull();
    const { rows } = await db.pool.query('SELECT muted_until FROM room_members WHERE room_id = $1 AND user_id = $2', [rooms.secret, people.owner.id]);
    expect(rows).toEqual([{ muted_until: null }]);
    expect((await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`)).rows[0]?.n).toBe(0);
  });

  it('an admin cannot moderate a direct conversation they are not part of; a member of it can (room page)', async () => {
    expect((await api(people.admin, '/admin/api/messages/delete', { room: rooms.dm, seq: 1 })).statusCode).toBe(404);
    expect((await form(people.admin, '/admin/moderation/delete', { room: String(rooms.dm), seq: '1' })).statusCode).toBe(404);
    expect(await deletedAt(rooms.dm)).toBeNull();
    // The moderator is in the DM: the room page's Delete works (chat is down, so Postgres directly).
    expect((await api(people.moderator, '/admin/api/messages/delete', { room: rooms.dm, seq: 1 })).statusCode).toBe(200);
    expect(await deletedAt(rooms.dm)).not.toBeNull();
  });

  it('lets staff act where they may (so the 404s above mean something)', async () => {
    const del = await form(people.moderator, '/admin/moderation/delete', { room: String(rooms.modsClub), seq: '1' });
    expect(del.statusCode).toBe(303);
    expect(await deletedAt(rooms.modsClub)).not.toBeNull();
    const mute = await api(people.moderator, '/admin/api/mute', { room: rooms.pub, userId: people.owner.id, minutes: 5 });
    expect(mute.statusCode).toBe(200);
    const adminDelete = await form(people.admin, '/admin/moderation/delete', { room: String(rooms.secret), seq: '1' });
    expect(adminDelete.statusCode).toBe(303);
    expect(await deletedAt(rooms.secret)).not.toBeNull();
  });
});

describe('audit of a moderator delete', () => {
  it('records the first 80 characters of the message and shows them escaped, with a link to the room', async () => {
    const body = `<script>alert("x")</script> & ${'long words '.repeat(20)}`;
    await db.pool.query('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1', [rooms.pub]);
    const { rows: [message] } = await db.pool.query<{ seq: number }>(
      `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, (SELECT last_seq FROM rooms WHERE id = $1), $2, 'c-excerpt', $3) RETURNING seq`,
      [rooms.pub, people.owner.id, body],
    );
    expect((await form(people.moderator, '/admin/moderation/delete', { room: String(rooms.pub), seq: String(message!.seq) })).statusCode).toBe(303);

    const { rows } = await db.pool.query<{ details: { excerpt: string } }>(`SELECT details FROM audit_log WHERE action = 'message.deleted' AND target_id = $1`, [`${rooms.pub}:${message!.seq}`]);
    const excerpt = rows[0]!.details.excerpt;
    expect([...excerpt]).toHaveLength(80);
    expect(excerpt).toMatch(/^<script>alert\("x"\)<\/script> & long words .*…$/);

    const audit = await app.inject({ method: 'GET', url: '/admin/audit?action=message.deleted', headers: { cookie: people.admin.cookie, accept: 'text/html' } });
    expect(audit.statusCode).toBe(200);
    expect(audit.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; long words');
    expect(audit.body).not.toContain('<script>alert');
    expect(audit.body).toContain(`<a href="/admin/rooms/${rooms.pub}">`);
    expect(audit.body).toContain(`<a href="/admin/moderation?room=${rooms.pub}">message ${message!.seq}</a>`);
  });
});

describe('moderation page: paged and filtered', () => {
  const view = (who: Person, url: string) => app.inject({ method: 'GET', url, headers: { cookie: who.cookie, accept: 'text/html' } });
  const seqsOn = (body: string) => [...body.matchAll(/<tr data-seq="(\d+)"/g)].map((m) => Number(m[1]));
  const olderLink = (body: string) => /<a href="([^"]+)" rel="next">Older/.exec(body)?.[1]?.replaceAll('&amp;', '&');

  it('shows a page of 25, and the next page keeps the filters (author, state, text); staff scope still applies', async () => {
    const busy = (await new RoomRepository(db.pool).create({ name: 'Busy hall', topic: '', kind: 'public', createdBy: people.owner.id })).id;
    for (let i = 1; i <= 36; i++) {
      const author = i % 6 === 0 ? people.admin.id : people.owner.id; // 30 by the owner, 6 by the admin
      await db.pool.query('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1', [busy]);
      await db.pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, (SELECT last_seq FROM rooms WHERE id = $1), $2, $3, $4)`, [busy, author, `busy-${i}`, `BUSY-${i}`]);
    }

    const first = await view(people.moderator, `/admin/moderation?room=${busy}&author=%40owner_person`);
    expect(first.statusCode).toBe(200);
    const firstSeqs = seqsOn(first.body);
    expect(firstSeqs).toHaveLength(25);
    expect(firstSeqs[0]).toBe(35);
    const next = olderLink(first.body);
    expect(next).toBe(`/admin/moderation?room=${busy}&author=owner_person&before=${firstSeqs.at(-1)}`);

    const second = await view(people.moderator, next!);
    const secondSeqs = seqsOn(second.body);
    expect(secondSeqs).toHaveLength(5);
    expect(Math.max(...secondSeqs)).toBeLessThan(Math.min(...firstSeqs));
    expect(olderLink(second.body)).toBeUndefined();
    expect(second.body).toContain(`href="/admin/moderation?room=${busy}&amp;author=owner_person" rel="first"`);

    // Deleting from page 2 of a filtered list comes back to that page with the same filters.
    const del = await form(people.moderator, '/admin/moderation/delete', { room: String(busy), seq: String(secondSeqs[0]), author: 'owner_person', before: String(firstSeqs.at(-1)) });
    expect(del.statusCode).toBe(303);
    expect(del.headers.location).toBe(`${next}&done=deleted`);

    const deleted = await view(people.moderator, `/admin/moderation?room=${busy}&state=deleted`);
    expect(seqsOn(deleted.body)).toEqual([secondSeqs[0]]);
    const live = await view(people.moderator, `/admin/moderation?room=${busy}&state=live&q=BUSY-3`);
    expect(seqsOn(live.body)).toEqual([36, 35, 34, 33, 32, 31, 30, 3]);
    expect(olderLink(live.body)).toBeUndefined();

    // Filters and paging do not widen what a moderator may read.
    const secret = await view(people.moderator, `/admin/moderation?room=${rooms.secret}&author=owner_person&before=99`);
    expect(secret.statusCode).toBe(404);
    expect(secret.body).not.toContain('SECRET-BODY');
  });
});
