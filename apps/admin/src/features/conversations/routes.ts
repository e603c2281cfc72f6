// The web client: the single-page chat at /chat and /chat/:id, and the JSON the sidebar is built from.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';
import { sendError } from '../../plugins/errors.ts';
import { ConversationRepository } from './conversation-repository.ts';
import { chatPage } from './views.ts';
import { chatShellData } from './shell-data.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { Refusal } from '../refusal.ts';

const roomIdParam = z.object({ id: z.coerce.number().int().positive() });
const notificationsBody = z.object({ muted: z.boolean() });

export async function conversationRoutes(app: FastifyInstance, s: AdminServices) {
  const conversations = new ConversationRepository(s.pool);

  app.get('/chat', { preHandler: requireUser }, async (req, reply) => {
    const initial = await chatShellData(s.pool, req.user!, null);
    return reply.type('text/html; charset=utf-8').send(chatPage({ user: req.user!, csrfToken: reply.generateCsrf(), chatUrl: s.config.CHAT_PUBLIC_URL, roomId: null, initial }));
  });

  app.get('/chat/:id', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findVisible(params.data.id, req.user!.id) : null;
    if (!room) return sendError(req, reply, 404, 'This room does not exist or you are not a member.');
    if (room.kind === 'public' && !room.isMember) await s.roomService.join(req.user!.id, room); // not for archived rooms; announces the conversation
    const flash = (req.query as Record<string, unknown>).invited ? 'Invitation sent: they can open this room now.' : null;
    return reply.type('text/html; charset=utf-8').send(
      chatPage({ user: req.user!, csrfToken: reply.generateCsrf(), chatUrl: s.config.CHAT_PUBLIC_URL, roomId: room.id, flash, initial: await chatShellData(s.pool, req.user!, room.id) }),
    );
  });

  app.get('/api/conversations', { preHandler: requireUser }, async (req, reply) => {
    const [list, roomMentioners] = await Promise.all([conversations.list(req.user!), conversations.roomMentioners()]);
    return reply.header('cache-control', 'no-store').send({ conversations: list, roomMentioners });
  });

  app.get('/api/conversations/:id', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'No such conversation.');
    const [conversation] = await conversations.list(req.user!, params.data.id);
    if (!conversation) return sendError(req, reply, 404, 'No such conversation.');
    const [members, mutedUntil] = await Promise.all([
      conversations.mentionable(conversation.id, req.user!.id),
      s.rooms.mutedUntil(conversation.id, req.user!.id),
    ]);
    return reply.header('cache-control', 'no-store').send({ conversation, members, mutedUntil: mutedUntil?.toISOString() ?? null });
  });

  // Leave a group conversation (the sidebar drops it; the others see the name go).
  app.post('/api/conversations/:id/leave', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    const room = params.success ? await s.rooms.findVisible(params.data.id, req.user!.id) : null;
    if (!room || !room.isMember) return sendError(req, reply, 404, 'No such conversation.');
    try {
      await s.roomService.leaveConversation(actorOf(req), room, req.user!);
    } catch (err) {
      if (err instanceof Refusal) return sendError(req, reply, err.statusCode, err.message);
      throw err;
    }
    req.log.info({ roomId: room.id }, 'left a group conversation');
    return reply.send({ ok: true });
  });

  // Close a direct conversation in your sidebar (until its next message, or until you open it again);
  // your other tabs and devices close it too.
  app.post('/api/conversations/:id/hide', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    if (!params.success || !(await s.roomService.closeConversation(req.user!.id, params.data.id))) return sendError(req, reply, 404, 'No such direct conversation.');
    return reply.send({ ok: true });
  });

  // Open a closed direct conversation again (the web client went to it); your other tabs and devices too.
  app.post('/api/conversations/:id/reopen', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    if (!params.success || !(await s.roomService.reopenConversation(req.user!.id, params.data.id))) return sendError(req, reply, 404, 'No such direct conversation.');
    return reply.send({ ok: true });
  });

  app.post('/api/conversations/:id/notifications', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    const body = notificationsBody.safeParse(req.body);
    if (!params.success || !body.success) return sendError(req, reply, 400, 'Send {"muted": true|false}.');
    const ok = await conversations.setNotificationsMuted(params.data.id, req.user!.id, body.data.muted);
    if (!ok) return sendError(req, reply, 404, 'No such conversation.');
    return reply.send({ ok: true, muted: body.data.muted });
  });
}
