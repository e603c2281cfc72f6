// The admin panel: users, rooms, moderation, audit log, dashboard. Who may call what is declared per
// route (`config.roles`) and enforced by one onRequest hook in app.ts before CSRF and body parsing;
// any /admin route without a declaration is admin-only. Every state change is audited.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import type { Role } from '../users/user-repository.ts';
import { sendError } from '../../plugins/errors.ts';
import { fieldErrors } from '../auth/routes.ts';
import { DuplicateRoomError } from '../rooms/room-repository.ts';
import { collectDashboard } from '../dashboard/stats.ts';
import { auditPage, dashboardPage, moderationPage, roomAdminPage, roomsAdminPage, usersPage } from './views.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route; routes under /admin without it are admin-only. */
    roles?: Role[];
  }
}

const STAFF = { config: { roles: ['moderator', 'admin'] as Role[] } };
const ADMIN = { config: { roles: ['admin'] as Role[] } };

const PAGE_SIZE = 25;
const RANK: Record<Role, number> = { user: 0, moderator: 1, admin: 2 };
const id = z.coerce.number().int().positive();
const idParam = z.object({ id });
const handleInput = z.string().trim().toLowerCase().transform((v) => v.replace(/^@/, '')).pipe(z.string().regex(/^[a-z0-9_]{3,32}$/, 'Enter a handle like @ann.'));
const pageNum = (v: unknown) => Math.max(1, Math.min(10_000, Number.parseInt(String(v ?? '1'), 10) || 1));
const str = (v: unknown, max = 200) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

const createRoomSchema = z.object({
  name: z.string().trim().min(1, 'Enter a room name.').max(80, 'Use at most 80 characters.'),
  topic: z.string().trim().max(200, 'Use at most 200 characters.').default(''),
  kind: z.enum(['public', 'private']).default('public'),
});
const muteSchema = z.object({ room: id, handle: handleInput, minutes: z.coerce.number().int().min(1).max(60 * 24 * 30) });
const FLASH: Record<string, string> = {
  role: 'Role changed.',
  banned: 'User banned: signed out everywhere and disconnected from chat.',
  deactivated: 'User deactivated: signed out everywhere and disconnected from chat.',
  active: 'User reactivated.',
  signedout: 'User signed out everywhere.',
  created: 'Room created.',
  archived: 'Room archived: it is read-only now.',
  unarchived: 'Room unarchived.',
  added: 'Member added.',
  removed: 'Member removed.',
  deleted: 'Message deleted for everyone.',
  muted: 'User muted.',
  unmuted: 'User unmuted.',
};

export async function adminRoutes(app: FastifyInstance, s: AdminServices) {
  const flashOf = (req: FastifyRequest) => FLASH[str((req.query as Record<string, unknown>).done)] ?? null;
  const warningOf = (req: FastifyRequest) => ((req.query as Record<string, unknown>).chat === 'unreachable' ? 'The chat service did not answer: the change is saved, but open chat tabs may not reflect it until they reconnect.' : null);
  const page = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const back = (reply: FastifyReply, url: string, done: string, chatOk = true) =>
    reply.redirect(`${url}${url.includes('?') ? '&' : '?'}done=${done}${chatOk ? '' : '&chat=unreachable'}`, 303);
  /** Calls chat; false (logged) when it is unreachable: the change itself is already committed. */
  async function tellChat(req: FastifyRequest, what: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, `chat ${what} failed`);
      return false;
    }
  }

  app.get('/admin', STAFF, async (req, reply) => reply.redirect(req.user!.role === 'admin' ? '/admin/users' : '/admin/moderation'));

  // ---- users -------------------------------------------------------------------------------
  app.get('/admin/users', STAFF, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const role = ['user', 'moderator', 'admin'].includes(str(q.role)) ? (str(q.role) as Role) : undefined;
    const status = ['active', 'deactivated', 'banned'].includes(str(q.status)) ? (str(q.status) as 'active') : undefined;
    const current = pageNum(q.page);
    const { users, total } = await s.users.search({ q: str(q.q, 100), role, status, limit: PAGE_SIZE, offset: (current - 1) * PAGE_SIZE });
    return page(reply, usersPage({
      user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), warning: warningOf(req),
      users, total, page: current, pageSize: PAGE_SIZE, q: str(q.q, 100), role: role ?? '', status: status ?? '', selfId: req.user!.id,
    }));
  });

  app.post('/admin/users/:id/role', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const role = z.enum(['user', 'moderator', 'admin']).safeParse((req.body as Record<string, unknown> | undefined)?.role);
    if (!params.success || !role.success) return sendError(req, reply, 400, 'Choose user, moderator or admin.');
    if (params.data.id === req.user!.id) return sendError(req, reply, 400, 'You cannot change your own role: ask another admin.');
    const before = await s.users.findById(params.data.id);
    if (!before) return sendError(req, reply, 404, 'No such user.');
    await s.users.setRole(before.id, role.data);
    // Chat trusts the role in its tokens: after a demotion no open socket may keep the old powers, so
    // the person is signed out everywhere (a promotion takes effect at their next page load).
    let chatOk = true;
    let sessionsEnded = 0;
    if (RANK[role.data] < RANK[before.role]) {
      const ids = await s.sessions.destroyAllForUser(before.id);
      sessionsEnded = ids.length;
      const results = await Promise.all(ids.map((sessionId) => tellChat(req, 'kick', () => s.chat.kick({ sessionId }, 'Your role changed. Log in again.', req.id))));
      chatOk = results.every(Boolean);
    }
    await s.audit.recordFor(req, 'user.role_changed', 'user', before.id, { handle: before.handle, from: before.role, to: role.data, sessionsEnded });
    return back(reply, '/admin/users', 'role', chatOk);
  });

  app.post('/admin/users/:id/status', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const status = z.enum(['active', 'deactivated', 'banned']).safeParse((req.body as Record<string, unknown> | undefined)?.status);
    if (!params.success || !status.success) return sendError(req, reply, 400, 'Choose active, deactivated or banned.');
    if (params.data.id === req.user!.id) return sendError(req, reply, 400, 'You cannot change your own status.');
    const before = await s.users.findById(params.data.id);
    if (!before) return sendError(req, reply, 404, 'No such user.');
    await s.users.setStatus(before.id, status.data);
    let sessions = 0;
    let chatOk = true;
    if (status.data !== 'active') {
      // Logged out everywhere, and every open chat socket closed on every replica (chat also refuses
      // upgrades of users who are not active, so they cannot reconnect).
      sessions = (await s.sessions.destroyAllForUser(before.id)).length;
      chatOk = await tellChat(req, 'kick', () => s.chat.kick({ userId: before.id }, status.data === 'banned' ? 'Your account was banned.' : 'Your account was deactivated.', req.id));
    }
    await s.audit.recordFor(req, status.data === 'banned' ? 'user.banned' : status.data === 'deactivated' ? 'user.deactivated' : 'user.reactivated', 'user', before.id, {
      handle: before.handle, from: before.status, to: status.data, sessionsEnded: sessions, chatNotified: chatOk,
    });
    return back(reply, '/admin/users', status.data, chatOk);
  });

  app.post('/admin/users/:id/sessions/revoke', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const target = params.success ? await s.users.findById(params.data.id) : null;
    if (!target) return sendError(req, reply, 404, 'No such user.');
    const ids = await s.sessions.destroyAllForUser(target.id);
    // Per session: a user-wide kick would also refuse their next login's chat tokens for a while.
    const results = await Promise.all(ids.map((sessionId) => tellChat(req, 'kick', () => s.chat.kick({ sessionId }, 'An administrator signed you out.', req.id))));
    const chatOk = results.every(Boolean);
    await s.audit.recordFor(req, 'user.sessions_revoked', 'user', target.id, { handle: target.handle, sessionsEnded: ids.length, chatNotified: chatOk });
    return back(reply, '/admin/users', 'signedout', chatOk);
  });

  // ---- rooms -------------------------------------------------------------------------------
  app.get('/admin/rooms', ADMIN, async (req, reply) => {
    const q = str((req.query as Record<string, unknown>).q, 80);
    return page(reply, roomsAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), warning: warningOf(req), rooms: await s.rooms.listAll(q), q }));
  });

  app.post('/admin/rooms', ADMIN, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const parsed = createRoomSchema.safeParse(body);
    const render = async (errors: Record<string, string>, status: number) =>
      page(reply, roomsAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listAll(), q: '', errors, values: body }), status);
    if (!parsed.success) return render(fieldErrors(parsed.error), 400);
    try {
      const room = await s.rooms.create({ ...parsed.data, createdBy: req.user!.id });
      await s.audit.recordFor(req, 'room.created', 'room', room.id, { name: room.name, kind: room.kind });
      return back(reply, '/admin/rooms', 'created');
    } catch (err) {
      if (err instanceof DuplicateRoomError) return render({ name: 'A room with this name already exists.' }, 409);
      throw err;
    }
  });

  app.post('/admin/rooms/:id/archive', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findById(params.data.id) : null;
    if (!room || room.kind === 'direct') return sendError(req, reply, 404, 'No such room.');
    const archived = str((req.body as Record<string, unknown> | undefined)?.archived) !== '0';
    await s.rooms.setArchived(room.id, archived);
    // Open tabs lock (or unlock) their composer at once, on every chat replica.
    const chatOk = await tellChat(req, 'archive', () => s.chat.roomArchived(room.id, archived, req.id));
    await s.audit.recordFor(req, archived ? 'room.archived' : 'room.unarchived', 'room', room.id, { name: room.name, chatNotified: chatOk });
    return back(reply, '/admin/rooms', archived ? 'archived' : 'unarchived', chatOk);
  });

  app.get('/admin/rooms/:id', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findById(params.data.id) : null;
    if (!room || room.kind === 'direct') return sendError(req, reply, 404, 'No such room.');
    return page(reply, roomAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), warning: warningOf(req), room, members: await s.rooms.members(room.id) }));
  });

  app.post('/admin/rooms/:id/members', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findById(params.data.id) : null;
    if (!room || room.kind === 'direct') return sendError(req, reply, 404, 'No such room.');
    const raw = str((req.body as Record<string, unknown> | undefined)?.handle, 40);
    const render = async (error: string, status: number) =>
      page(reply, roomAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), room, members: await s.rooms.members(room.id), error, handle: raw }), status);
    const handle = handleInput.safeParse(raw);
    if (!handle.success) return render(handle.error.issues[0]?.message ?? 'Enter a handle.', 400);
    const member = await s.users.findByHandle(handle.data);
    if (!member) return render(`Nobody is called @${handle.data}.`, 404);
    if (!(await s.rooms.addMember(room.id, member.id))) return render(`@${member.handle} is already a member.`, 409);
    await s.audit.recordFor(req, 'room.member_added', 'room', room.id, { name: room.name, userId: member.id, handle: member.handle });
    return back(reply, `/admin/rooms/${room.id}`, 'added');
  });

  app.post('/admin/rooms/:id/members/:userId/remove', ADMIN, async (req, reply) => {
    const params = z.object({ id, userId: id }).safeParse(req.params);
    const room = params.success ? await s.rooms.findById(params.data.id) : null;
    const member = params.success ? await s.users.findById(params.data.userId) : null;
    if (!room || !member || room.kind === 'direct') return sendError(req, reply, 404, 'No such room or member.');
    if (!(await s.rooms.removeMember(room.id, member.id))) return sendError(req, reply, 404, 'Not a member.');
    // Their open tabs leave the room on every chat replica (chat refuses the rejoin: no longer a member).
    const chatOk = await tellChat(req, 'membership', () => s.chat.roomMemberRemoved(room.id, member.id, req.id));
    await s.audit.recordFor(req, 'room.member_removed', 'room', room.id, { name: room.name, userId: member.id, handle: member.handle, chatNotified: chatOk });
    return back(reply, `/admin/rooms/${room.id}`, 'removed', chatOk);
  });

  // ---- moderation ----------------------------------------------------------------------------
  // Moderators see public rooms and private rooms they belong to; admins every public and private
  // room; direct conversations never appear here (see RoomRepository.listModeratable).
  app.get('/admin/moderation', STAFF, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const rooms = await s.rooms.listModeratable(req.user!);
    const wanted = id.safeParse(q.room);
    const room = (wanted.success ? rooms.find((r) => r.id === wanted.data) : rooms[0]) ?? null;
    if (wanted.success && !room) return sendError(req, reply, 404, 'No such room, or not one you moderate.');
    const text = str(q.q, 100);
    const [messages, members] = room ? await Promise.all([s.rooms.recentMessages(room.id, { q: text, limit: 100 }), s.rooms.members(room.id)]) : [[], []];
    return page(reply, moderationPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), warning: warningOf(req), rooms, room, messages, members, q: text }));
  });

  /** May this staff member moderate this room (see RoomRepository.findModeratable)? */
  const mayModerate = async (req: FastifyRequest, roomId: number) => (await s.rooms.findModeratable(roomId, req.user!)) !== null;

  async function deleteMessage(req: FastifyRequest, roomId: number, seq: number): Promise<{ ok: boolean; chatOk: boolean }> {
    let chatOk = true;
    let ok = false;
    if (!(await mayModerate(req, roomId))) return { ok: false, chatOk };
    try {
      // Chat deletes it in Postgres and tells every replica's open tabs.
      const res = await s.chat.moderation({ action: 'delete_message', room: roomId, seq, moderatorId: req.user!.id }, req.id);
      ok = res.ok;
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'chat delete failed; deleting in Postgres only');
      chatOk = false;
      const { rowCount } = await s.pool.query('UPDATE messages SET deleted_at = now(), deleted_by = $3 WHERE room_id = $1 AND seq = $2 AND deleted_at IS NULL', [roomId, seq, req.user!.id]);
      ok = (rowCount ?? 0) > 0;
    }
    if (ok) await s.audit.recordFor(req, 'message.deleted', 'message', `${roomId}:${seq}`, { room: roomId, seq, chatNotified: chatOk });
    return { ok, chatOk };
  }

  async function mute(req: FastifyRequest, roomId: number, userId: number, minutes: number | null) {
    const until = minutes === null ? null : new Date(Date.now() + minutes * 60_000);
    await s.rooms.setMutedUntil(roomId, userId, until);
    const chatOk = await tellChat(req, 'moderation', async () => {
      const res = await s.chat.moderation({ action: until ? 'muted' : 'unmuted', room: roomId, userId, until: until?.toISOString() ?? null }, req.id);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    });
    return { until, chatOk };
  }

  app.post('/admin/moderation/delete', STAFF, async (req, reply) => {
    const body = z.object({ room: id, seq: id }).safeParse(req.body ?? {});
    if (!body.success) return sendError(req, reply, 400, 'Which message?');
    const { ok, chatOk } = await deleteMessage(req, body.data.room, body.data.seq);
    if (!ok) return sendError(req, reply, 404, 'That message does not exist or is already deleted.');
    const q = str((req.body as Record<string, unknown>).q, 100);
    return back(reply, `/admin/moderation?room=${body.data.room}${q ? `&q=${encodeURIComponent(q)}` : ''}`, 'deleted', chatOk);
  });

  app.post('/admin/moderation/mute', STAFF, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const parsed = muteSchema.safeParse(body);
    const roomId = id.safeParse(body.room);
    if (!roomId.success) return sendError(req, reply, 400, 'Which room?');
    const room = await s.rooms.findModeratable(roomId.data, req.user!);
    if (!room || room.kind === 'direct') return sendError(req, reply, 404, 'No such room.');
    const render = async (errors: Record<string, string>, status: number) =>
      page(reply, moderationPage({
        user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listModeratable(req.user!), room, q: '',
        messages: await s.rooms.recentMessages(room.id, { limit: 100 }), members: await s.rooms.members(room.id), muteErrors: errors, muteValues: body,
      }), status);
    if (!parsed.success) return render(fieldErrors(parsed.error), 400);
    const target = await s.users.findByHandle(parsed.data.handle);
    if (!target) return render({ handle: `Nobody is called @${parsed.data.handle}.` }, 404);
    if (target.id === req.user!.id) return render({ handle: 'You cannot mute yourself.' }, 400);
    const { until, chatOk } = await mute(req, room.id, target.id, parsed.data.minutes);
    await s.audit.recordFor(req, 'user.muted', 'user', target.id, { handle: target.handle, room: room.id, minutes: parsed.data.minutes, until: until!.toISOString(), chatNotified: chatOk });
    return back(reply, `/admin/moderation?room=${room.id}`, 'muted', chatOk);
  });

  app.post('/admin/moderation/unmute', STAFF, async (req, reply) => {
    const body = z.object({ room: id, userId: id }).safeParse(req.body ?? {});
    if (!body.success) return sendError(req, reply, 400, 'Which room and user?');
    if (!(await mayModerate(req, body.data.room))) return sendError(req, reply, 404, 'No such room.');
    const target = await s.users.findById(body.data.userId);
    if (!target) return sendError(req, reply, 404, 'No such user.');
    const { chatOk } = await mute(req, body.data.room, target.id, null);
    await s.audit.recordFor(req, 'user.unmuted', 'user', target.id, { handle: target.handle, room: body.data.room, chatNotified: chatOk });
    return back(reply, `/admin/moderation?room=${body.data.room}`, 'unmuted', chatOk);
  });

  // JSON for the room page's moderator actions (CSRF token in X-CSRF-Token).
  app.post('/admin/api/messages/delete', STAFF, async (req, reply) => {
    const body = z.object({ room: id, seq: id }).safeParse(req.body ?? {});
    if (!body.success) return reply.code(400).send({ error: 'give room and seq' });
    const { ok, chatOk } = await deleteMessage(req, body.data.room, body.data.seq);
    return reply.code(ok ? 200 : 404).send(ok ? { ok, chatNotified: chatOk } : { error: 'no such message, or already deleted' });
  });

  app.post('/admin/api/mute', STAFF, async (req, reply) => {
    const body = z.object({ room: id, userId: id, minutes: z.coerce.number().int().min(1).max(60 * 24 * 30).nullable() }).safeParse(req.body ?? {});
    if (!body.success) return reply.code(400).send({ error: 'give room, userId and minutes (or null to unmute)' });
    if (!(await mayModerate(req, body.data.room))) return reply.code(404).send({ error: 'no such room' });
    const target = await s.users.findById(body.data.userId);
    if (!target || target.id === req.user!.id) return reply.code(404).send({ error: 'no such user' });
    const { until, chatOk } = await mute(req, body.data.room, target.id, body.data.minutes);
    await s.audit.recordFor(req, until ? 'user.muted' : 'user.unmuted', 'user', target.id, { handle: target.handle, room: body.data.room, minutes: body.data.minutes, until: until?.toISOString() ?? null, chatNotified: chatOk });
    return reply.send({ ok: true, until, chatNotified: chatOk });
  });

  // ---- audit ---------------------------------------------------------------------------------
  app.get('/admin/audit', ADMIN, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const filter = { actor: str(q.actor, 40), action: str(q.action, 60), targetType: str(q.targetType, 20), targetId: str(q.targetId, 40), since: str(q.since, 4) };
    const sinceMs = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 }[filter.since];
    const current = pageNum(q.page);
    const { entries, total } = await s.audit.list(
      { actor: filter.actor || undefined, action: filter.action || undefined, targetType: filter.targetType || undefined, targetId: filter.targetId || undefined, since: sinceMs ? new Date(Date.now() - sinceMs) : undefined },
      PAGE_SIZE, (current - 1) * PAGE_SIZE,
    );
    const clean = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
    return page(reply, auditPage({ user: req.user!, csrfToken: reply.generateCsrf(), entries, total, page: current, pageSize: PAGE_SIZE, filter: clean, actions: await s.audit.actions() }));
  });

  // ---- dashboard -----------------------------------------------------------------------------
  app.get('/admin/dashboard', STAFF, async (req, reply) => {
    return page(reply, dashboardPage({ user: req.user!, csrfToken: reply.generateCsrf(), data: await collectDashboard(s, req.id) }));
  });

  app.get('/admin/api/dashboard', { ...STAFF, logLevel: 'warn' }, async (req, reply) => {
    return reply.header('cache-control', 'no-store').send(await collectDashboard(s, req.id));
  });
}
