import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';
import { sendError } from '../../plugins/errors.ts';
import { fieldErrors } from '../auth/routes.ts';
import { Refusal } from '../refusal.ts';
import { DuplicateRoomError } from './room-repository.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { roomPage, roomsPage } from './views.ts';
import { chatShellData } from '../conversations/shell-data.ts';

/** The `handle` a form or JSON body carries, as typed ('' when absent or not text). */
const bodyHandle = (body: unknown): string => {
  const v = (body as Record<string, unknown> | undefined)?.handle;
  return typeof v === 'string' ? v : '';
};

const handleField = z.string().trim().toLowerCase().transform((v) => v.replace(/^@/, '')).pipe(z.string().regex(/^[a-z0-9_]{3,32}$/, 'Enter a handle like @ann.'));

const createRoomSchema = z.object({
  name: z.string().trim().min(1, 'Enter a room name.').max(80, 'Use at most 80 characters.'),
  topic: z.string().trim().max(200, 'Use at most 200 characters.').default(''),
  kind: z.enum(['public', 'private'], { message: 'Choose public or private.' }).default('public'),
});
const roomIdParam = z.object({ id: z.coerce.number().int().positive() });

export async function roomRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/rooms', { preHandler: requireUser }, async (req, reply) => {
    const [rooms, directs] = await Promise.all([s.rooms.listVisible(req.user!.id), s.rooms.listDirect(req.user!.id)]);
    return reply.type('text/html; charset=utf-8').send(roomsPage({ user: req.user!, csrfToken: reply.generateCsrf(), rooms, directs }));
  });

  app.post('/rooms', { preHandler: requireUser }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const parsed = createRoomSchema.safeParse(body);
    const renderWith = async (errors: Record<string, string>, status: number) =>
      reply.code(status).type('text/html; charset=utf-8').send(
        roomsPage({
          user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listVisible(req.user!.id), directs: await s.rooms.listDirect(req.user!.id), errors, values: body,
        }),
      );
    if (!parsed.success) return renderWith(fieldErrors(parsed.error), 400);
    try {
      const room = await s.roomService.create(actorOf(req), { ...parsed.data, createdBy: req.user!.id });
      req.log.info({ roomId: room.id, kind: room.kind }, 'room created');
      return reply.redirect(`/rooms/${room.id}`, 303);
    } catch (err) {
      if (err instanceof DuplicateRoomError) return renderWith({ name: 'A room with this name already exists.' }, 409);
      throw err;
    }
  });

  app.get('/rooms/:id', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findVisible(params.data.id, req.user!.id) : null;
    if (!room) return sendError(req, reply, 404, 'This room does not exist or you are not a member.');
    if (room.kind === 'public' && !room.isMember) await s.roomService.join(req.user!.id, room);
    const q = req.query as Record<string, unknown>;
    const flash = q.invited ? 'Invitation sent: they can open this room now.' : null;
    return reply.type('text/html; charset=utf-8').send(
      roomPage({ user: req.user!, csrfToken: reply.generateCsrf(), room, chatUrl: s.config.CHAT_PUBLIC_URL, flash, initial: await chatShellData(s.pool, req.user!, room.id) }),
    );
  });

  // Members of a private room invite people by handle; they become members at once.
  app.post('/rooms/:id/invite', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findVisible(params.data.id, req.user!.id) : null;
    if (!room || !room.isMember) return sendError(req, reply, 404, 'This room does not exist or you are not a member.');
    const renderWith = async (error: string, status: number) =>
      reply.code(status).type('text/html; charset=utf-8').send(
        roomPage({
          user: req.user!, csrfToken: reply.generateCsrf(), room, chatUrl: s.config.CHAT_PUBLIC_URL,
          inviteError: error, inviteValue: bodyHandle(req.body), initial: await chatShellData(s.pool, req.user!, room.id),
        }),
      );
    if (room.kind !== 'private') return renderWith('Only private rooms take invitations; anyone can join a public room.', 400);
    if (room.archivedAt) return renderWith('This room is archived.', 400);
    const handle = handleField.safeParse((req.body as Record<string, unknown> | undefined)?.handle ?? '');
    if (!handle.success) return renderWith(handle.error.issues[0]?.message ?? 'Enter a handle.', 400);
    const invitee = await s.users.findByHandle(handle.data);
    if (!invitee || invitee.status !== 'active') return renderWith(`Nobody is called @${handle.data}.`, 404);
    await s.roomService.addMember(actorOf(req), room, invitee, 'invite');
    req.log.info({ roomId: room.id, invitee: invitee.id }, 'member invited');
    return reply.redirect(`/rooms/${room.id}?invited=1`, 303);
  });

  // Direct messages: one room per pair of people, both members; several handles open a group conversation.
  app.post('/direct', { preHandler: requireUser }, async (req, reply) => {
    const raw = bodyHandle(req.body);
    const renderWith = async (error: string, status: number) =>
      reply.code(status).type('text/html; charset=utf-8').send(
        roomsPage({
          user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listVisible(req.user!.id), directs: await s.rooms.listDirect(req.user!.id),
          errors: { dmHandle: error }, values: { dmHandle: raw },
        }),
      );
    const words = raw.split(/[\s,]+/).filter(Boolean);
    if (words.length > 1) {
      // Several handles: a group conversation (the service names unknown handles and enforces the size).
      const handles = words.map((w) => handleField.safeParse(w));
      const bad = handles.find((h) => !h.success);
      if (bad && !bad.success) return renderWith(bad.error.issues[0]?.message ?? 'Enter handles like @ann @bob.', 400);
      try {
        const roomId = await s.roomService.openGroup(actorOf(req), req.user!, handles.map((h) => h.data!));
        return reply.redirect(`/rooms/${roomId}`, 303);
      } catch (err) {
        if (err instanceof Refusal) return renderWith(err.message, err.statusCode);
        throw err;
      }
    }
    const handle = handleField.safeParse(raw);
    if (!handle.success) return renderWith(handle.error.issues[0]?.message ?? 'Enter a handle.', 400);
    const other = await s.users.findByHandle(handle.data);
    if (!other || other.status !== 'active') return renderWith(`Nobody is called @${handle.data}.`, 404);
    if (other.id === req.user!.id) return renderWith('Pick someone other than yourself.', 400);
    const roomId = await s.roomService.openDirect(actorOf(req), req.user!, other);
    return reply.redirect(`/rooms/${roomId}`, 303);
  });
}
