import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminServices } from '../app.ts';
import type { Role } from '../features/users/user-repository.ts';
import { sendError, wantsHtml } from './errors.ts';

export const SESSION_COOKIE = 'parley_sid';

export function clientMeta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300) };
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string, ttlMs: number, forceSecure: boolean) {
  reply.setCookie(SESSION_COOKIE, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: forceSecure || req.protocol === 'https',
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply) {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

/** Loads the session and its user on every request; a banned/deactivated user's session ends here. */
export const sessionPlugin = fp(async (app, services: AdminServices) => {
  app.decorateRequest('session', null);
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/static/') || req.url === '/healthz' || req.url === '/readyz' || req.url.startsWith('/internal/')) return;
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const session = await services.sessions.get(cookie, clientMeta(req));
    if (!session) return;
    const user = await services.users.findById(session.userId);
    if (!user || user.status !== 'active') {
      await services.sessions.destroy(session.id);
      return;
    }
    req.session = session;
    req.user = user;
  });
});

export function requireUser(req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
  if (req.user) return done();
  if (wantsHtml(req) && req.method === 'GET') {
    void reply.redirect(`/login?next=${encodeURIComponent(req.url)}`);
    return;
  }
  void sendError(req, reply, 401, 'Log in first.');
}

export function requireRole(...roles: Role[]) {
  return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (!req.user) return requireUser(req, reply, done);
    if (roles.includes(req.user.role)) return done();
    void sendError(req, reply, 403, 'You do not have permission to see this page.');
  };
}
