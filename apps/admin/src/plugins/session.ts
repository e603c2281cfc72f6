import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminServices } from '../app.ts';
import type { AdminConfig } from '../config.ts';
import type { Role } from '../features/users/user-repository.ts';
import { sendError, wantsHtml } from './errors.ts';

/**
 * Cookie names and security. Served over TLS (PUBLIC_URL is https:// or SECURE_COOKIES=true) every
 * cookie is Secure and carries the `__Host-` prefix, so the browser refuses it from plain http, from a
 * sibling subdomain or with a Domain/Path: a network or subdomain attacker cannot plant or overwrite
 * it. Over plain http (local `npm start`) the names stay unprefixed and Secure follows the request.
 */
export interface CookiePolicy {
  tls: boolean;
  session: string;
  csrf: string;
  device: string;
  /** `secure` option for @fastify/cookie: always over TLS, else by the request's protocol. */
  secure: true | 'auto';
}

export function cookiePolicy(config: Pick<AdminConfig, 'SECURE_COOKIES' | 'PUBLIC_URL'>): CookiePolicy {
  const tls = config.SECURE_COOKIES || config.PUBLIC_URL.startsWith('https://');
  const prefix = tls ? '__Host-' : '';
  return { tls, session: `${prefix}parley_sid`, csrf: `${prefix}parley_csrf`, device: `${prefix}parley_device`, secure: tls ? true : 'auto' };
}

declare module 'fastify' {
  interface FastifyInstance {
    cookiePolicy: CookiePolicy;
  }
}

export function clientMeta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300) };
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeMs: number) {
  const policy = req.server.cookiePolicy;
  reply.setCookie(policy.session, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: policy.secure,
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply) {
  const policy = reply.server.cookiePolicy;
  reply.clearCookie(policy.session, { path: '/', secure: policy.secure, httpOnly: true, sameSite: 'lax' });
}

/**
 * Loads the session and its user on every request; a banned/deactivated user's session ends here. One
 * older than SESSION_ABSOLUTE_HOURS is never found: the stores end it then, however active it is.
 */
export const sessionPlugin = fp(async (app, services: AdminServices) => {
  const cookieName = app.cookiePolicy.session;
  app.decorateRequest('session', null);
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/static/') || req.url === '/healthz' || req.url === '/readyz' || req.url.startsWith('/internal/')) return;
    const cookie = req.cookies[cookieName];
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
