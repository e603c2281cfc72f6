import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';
import { sendError } from '../../plugins/errors.ts';
import { fieldErrors } from '../auth/routes.ts';
import { DuplicateRoomError } from './room-repository.ts';
import { roomPage, roomsPage } from './views.ts';

const createRoomSchema = z.object({
  name: z.string().trim().min(1, 'Enter a room name.').max(80, 'Use at most 80 characters.'),
  topic: z.string().trim().max(200, 'Use at most 200 characters.').default(''),
  kind: z.enum(['public', 'private'], { message: 'Choose public or private.' }).default('public'),
});
const roomIdParam = z.object({ id: z.coerce.number().int().positive() });

export async function roomRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/rooms', { preHandler: requireUser }, async (req, reply) => {
    const rooms = await s.rooms.listVisible(req.user!.id);
    return reply.type('text/html; charset=utf-8').send(roomsPage({ user: req.user!, csrfToken: reply.generateCsrf(), rooms }));
  });

  app.post('/rooms', { preHandler: requireUser }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const parsed = createRoomSchema.safeParse(body);
    const renderWith = async (errors: Record<string, string>, status: number) =>
      reply.code(status).type('text/html; charset=utf-8').send(
        roomsPage({ user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listVisible(req.user!.id), errors, values: body }),
      );
    if (!parsed.success) return renderWith(fieldErrors(parsed.error), 400);
    try {
      const room = await s.rooms.create({ ...parsed.data, createdBy: req.user!.id });
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
    if (room.kind === 'public' && !room.isMember) await s.rooms.join(room.id, req.user!.id);
    return reply.type('text/html; charset=utf-8').send(
      roomPage({ user: req.user!, csrfToken: reply.generateCsrf(), room, chatUrl: s.config.CHAT_PUBLIC_URL }),
    );
  });
}
