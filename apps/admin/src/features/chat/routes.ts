import type { FastifyInstance } from 'fastify';
import { signChatToken } from '@parley/chat-token';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';

export async function chatTokenRoutes(app: FastifyInstance, s: AdminServices) {
  // The browser fetches a fresh token before each (re)connect; a revoked session cannot get one.
  app.get('/api/chat-token', { preHandler: requireUser }, async (req, reply) => {
    const user = req.user!;
    // The session's absolute end rides in the token, so chat ends the socket then too.
    const sexp = Math.floor(req.session!.endsAt / 1000);
    const token = signChatToken(
      { uid: user.id, sid: req.session!.id, handle: user.handle, name: user.displayName, role: user.role, sexp },
      s.config.CHAT_TOKEN_SECRET,
      s.config.CHAT_TOKEN_TTL_SECONDS,
    );
    return reply.header('cache-control', 'no-store').send({ token, url: s.config.CHAT_PUBLIC_URL, expiresIn: s.config.CHAT_TOKEN_TTL_SECONDS });
  });
}
