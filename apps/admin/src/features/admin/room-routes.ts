// /admin/rooms: list, create, rename, archive/unarchive public and private rooms, and manage members.
// Direct conversations never appear here.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { sendError } from '../../plugins/errors.ts';
import { fieldErrors } from '../auth/routes.ts';
import { DuplicateRoomError } from '../rooms/room-repository.ts';
import { ADMIN, back, bodyOf, flashOf, handleInput, id, idParam, page, str } from './http.ts';
import { roomAdminPage, roomsAdminPage } from './views.ts';

const roomFields = {
  name: z.string().trim().min(1, 'Enter a room name.').max(80, 'Use at most 80 characters.'),
  topic: z.string().trim().max(200, 'Use at most 200 characters.').default(''),
};
const createRoomSchema = z.object({ ...roomFields, kind: z.enum(['public', 'private']).default('public') });
const renameRoomSchema = z.object(roomFields);

export async function roomAdminRoutes(app: FastifyInstance, s: AdminServices) {
  /** The room named by :id, unless it is a direct conversation. */
  const roomOf = async (req: FastifyRequest) => {
    const params = idParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findById(params.data.id) : null;
    return room && room.kind !== 'direct' ? room : null;
  };

  app.get('/admin/rooms', ADMIN, async (req, reply) => {
    const q = str((req.query as Record<string, unknown>).q, 80);
    return page(reply, roomsAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), rooms: await s.rooms.listAll(q), q }));
  });

  app.post('/admin/rooms', ADMIN, async (req, reply) => {
    const body = bodyOf(req) as Record<string, string>;
    const parsed = createRoomSchema.safeParse(body);
    const render = async (errors: Record<string, string>, status: number) =>
      page(reply, roomsAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), rooms: await s.rooms.listAll(), q: '', errors, values: body }), status);
    if (!parsed.success) return render(fieldErrors(parsed.error), 400);
    try {
      await s.roomService.create(actorOf(req), { ...parsed.data, createdBy: req.user!.id });
      return back(reply, '/admin/rooms', 'created');
    } catch (err) {
      if (err instanceof DuplicateRoomError) return render({ name: 'A room with this name already exists.' }, 409);
      throw err;
    }
  });

  app.post('/admin/rooms/:id/archive', ADMIN, async (req, reply) => {
    const room = await roomOf(req);
    if (!room) return sendError(req, reply, 404, 'No such room.');
    const archived = str(bodyOf(req).archived) !== '0';
    await s.roomService.setArchived(actorOf(req), room, archived);
    return back(reply, '/admin/rooms', archived ? 'archived' : 'unarchived');
  });

  app.get('/admin/rooms/:id', ADMIN, async (req, reply) => {
    const room = await roomOf(req);
    if (!room) return sendError(req, reply, 404, 'No such room.');
    return page(reply, roomAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req), room, members: await s.rooms.members(room.id) }));
  });

  app.post('/admin/rooms/:id/rename', ADMIN, async (req, reply) => {
    const room = await roomOf(req);
    if (!room) return sendError(req, reply, 404, 'No such room.');
    const body = bodyOf(req) as Record<string, string>;
    const render = async (errors: Record<string, string>, status: number) =>
      page(reply, roomAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), room, members: await s.rooms.members(room.id), renameErrors: errors, renameValues: body }), status);
    const parsed = renameRoomSchema.safeParse(body);
    if (!parsed.success) return render(fieldErrors(parsed.error), 400);
    try {
      await s.roomService.rename(actorOf(req), room, parsed.data);
      return back(reply, `/admin/rooms/${room.id}`, 'renamed');
    } catch (err) {
      if (err instanceof DuplicateRoomError) return render({ name: 'A room with this name already exists.' }, 409);
      throw err;
    }
  });

  app.post('/admin/rooms/:id/members', ADMIN, async (req, reply) => {
    const room = await roomOf(req);
    if (!room) return sendError(req, reply, 404, 'No such room.');
    const raw = str(bodyOf(req).handle, 40);
    const render = async (error: string, status: number) =>
      page(reply, roomAdminPage({ user: req.user!, csrfToken: reply.generateCsrf(), room, members: await s.rooms.members(room.id), error, handle: raw }), status);
    const handle = handleInput.safeParse(raw);
    if (!handle.success) return render(handle.error.issues[0]?.message ?? 'Enter a handle.', 400);
    const member = await s.users.findByHandle(handle.data);
    if (!member) return render(`Nobody is called @${handle.data}.`, 404);
    if (!(await s.roomService.addMember(actorOf(req), room, member, 'admin'))) return render(`@${member.handle} is already a member.`, 409);
    return back(reply, `/admin/rooms/${room.id}`, 'added');
  });

  app.post('/admin/rooms/:id/members/:userId/remove', ADMIN, async (req, reply) => {
    const params = z.object({ id, userId: id }).safeParse(req.params);
    const room = await roomOf(req);
    const member = params.success ? await s.users.findById(params.data.userId) : null;
    if (!room || !member) return sendError(req, reply, 404, 'No such room or member.');
    if (!(await s.roomService.removeMember(actorOf(req), room, member))) return sendError(req, reply, 404, 'Not a member.');
    return back(reply, `/admin/rooms/${room.id}`, 'removed');
  });
}
