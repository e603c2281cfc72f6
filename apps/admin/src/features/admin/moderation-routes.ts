// /admin/moderation (page forms) and /admin/api (the room page's moderator actions, CSRF token in
// X-CSRF-Token): read a room's messages (filtered, a page at a time), delete one for everyone, mute
// and unmute. The scope rule and
// the changes live in ModerationService.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { actorOf } from '../audit/audit-repository.ts';
import type { ModerationFilter, Room } from '../rooms/room-repository.ts';
import { sendError } from '../../plugins/errors.ts';
import { fieldErrors } from '../auth/routes.ts';
import { Refusal } from '../refusal.ts';
import { PAGE_SIZE, STAFF, back, bodyOf, flashOf, handleInput, id, page } from './http.ts';
import { NO_FILTER, moderationFilterOf, moderationUrl } from './moderation-filter.ts';
import { moderationPage } from './views.ts';

const minutesField = z.coerce.number().int().min(1).max(60 * 24 * 30);
const muteFormSchema = z.object({ room: id, handle: handleInput, minutes: minutesField });
const messageRef = z.object({ room: id, seq: id });

export async function moderationRoutes(app: FastifyInstance, s: AdminServices) {
  const pageData = async (room: Room, filter: ModerationFilter = NO_FILTER) => {
    const [{ messages, more }, members, mutes] = await Promise.all([
      s.rooms.moderationMessages(room.id, { ...filter, limit: PAGE_SIZE }), s.rooms.members(room.id), s.rooms.mutes(room.id),
    ]);
    return { messages, more, members, mutes };
  };

  // Moderators see public rooms and private rooms they belong to; admins every public and private
  // room; direct conversations never appear here (see RoomRepository.listModeratable).
  app.get('/admin/moderation', STAFF, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const rooms = await s.rooms.listModeratable(req.user!);
    const wanted = id.safeParse(q.room);
    const room = (wanted.success ? rooms.find((r) => r.id === wanted.data) : rooms[0]) ?? null;
    if (wanted.success && !room) return sendError(req, reply, 404, 'No such room, or not one you moderate.');
    const filter = moderationFilterOf(q);
    const data = room ? await pageData(room, filter) : { messages: [], more: false, members: [], mutes: [] };
    return page(reply, moderationPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), rooms, room, filter, ...data }));
  });

  app.post('/admin/moderation/delete', STAFF, async (req, reply) => {
    const body = messageRef.safeParse(req.body ?? {});
    if (!body.success) return sendError(req, reply, 400, 'Which message?');
    if (!(await s.moderation.deleteMessage(actorOf(req), req.user!, body.data.room, body.data.seq))) {
      return sendError(req, reply, 404, 'That message does not exist or is already deleted.');
    }
    return back(reply, moderationUrl(body.data.room, moderationFilterOf(bodyOf(req))), 'deleted');
  });

  app.post('/admin/moderation/mute', STAFF, async (req, reply) => {
    const body = bodyOf(req) as Record<string, string>;
    const roomId = id.safeParse(body.room);
    if (!roomId.success) return sendError(req, reply, 400, 'Which room?');
    const room = await s.moderation.moderatableRoom(req.user!, roomId.data);
    if (room.kind === 'direct') return sendError(req, reply, 404, 'No such room.');
    const render = async (errors: Record<string, string>, status: number) =>
      page(reply, moderationPage({
        user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listModeratable(req.user!), room, filter: NO_FILTER, ...(await pageData(room)), muteErrors: errors, muteValues: body,
      }), status);
    const parsed = muteFormSchema.safeParse(body);
    if (!parsed.success) return render(fieldErrors(parsed.error), 400);
    const target = await s.users.findByHandle(parsed.data.handle);
    if (!target) return render({ handle: `Nobody is called @${parsed.data.handle}.` }, 404);
    try {
      await s.moderation.setMute(actorOf(req), req.user!, room, target, parsed.data.minutes);
    } catch (err) {
      if (err instanceof Refusal) return render({ handle: err.message }, err.statusCode);
      throw err;
    }
    return back(reply, moderationUrl(room.id), 'muted');
  });

  app.post('/admin/moderation/unmute', STAFF, async (req, reply) => {
    const body = z.object({ room: id, userId: id }).safeParse(req.body ?? {});
    if (!body.success) return sendError(req, reply, 400, 'Which room and user?');
    const room = await s.moderation.moderatableRoom(req.user!, body.data.room);
    const target = await s.users.findById(body.data.userId);
    if (!target) return sendError(req, reply, 404, 'No such user.');
    await s.moderation.setMute(actorOf(req), req.user!, room, target, null);
    return back(reply, moderationUrl(room.id), 'unmuted');
  });

  const jsonError = (reply: FastifyReply, status: number, error: string) => reply.code(status).send({ error });

  app.post('/admin/api/messages/delete', STAFF, async (req, reply) => {
    const body = messageRef.safeParse(req.body ?? {});
    if (!body.success) return jsonError(reply, 400, 'give room and seq');
    const ok = await s.moderation.deleteMessage(actorOf(req), req.user!, body.data.room, body.data.seq);
    return ok ? reply.send({ ok }) : jsonError(reply, 404, 'no such message, or already deleted');
  });

  app.post('/admin/api/mute', STAFF, async (req: FastifyRequest, reply) => {
    const body = z.object({ room: id, userId: id, minutes: minutesField.nullable() }).safeParse(req.body ?? {});
    if (!body.success) return jsonError(reply, 400, 'give room, userId and minutes (or null to unmute)');
    const room = await s.moderation.moderatableRoom(req.user!, body.data.room);
    const target = await s.users.findById(body.data.userId);
    if (!target) return jsonError(reply, 404, 'no such user');
    const { until } = await s.moderation.setMute(actorOf(req), req.user!, room, target, body.data.minutes);
    return reply.send({ ok: true, until });
  });
}
