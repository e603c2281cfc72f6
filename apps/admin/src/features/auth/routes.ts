import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { clearSessionCookie, clientMeta, setSessionCookie } from '../../plugins/session.ts';
import { DuplicateUserError } from '../users/user-repository.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { loginPage, signupPage } from './views.ts';

export const handleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, 'Use 3–32 letters, digits or underscores.');
export const displayNameSchema = z.string().trim().min(1, 'Enter a display name.').max(60, 'Use at most 60 characters.');
export const passwordSchema = z.string().min(10, 'Use at least 10 characters.').max(200, 'Use at most 200 characters.');

const signupSchema = z.object({
  email: z.string().trim().max(254, 'Use at most 254 characters.').email('Enter a valid email address.'),
  handle: handleSchema,
  displayName: displayNameSchema,
  password: passwordSchema,
});
const loginSchema = z.object({ email: z.string().trim().min(1, 'Enter your email.'), password: z.string().min(1, 'Enter your password.') });

export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? 'form');
    out[key] ??= issue.message;
  }
  return out;
}

/** Only same-site relative paths, so ?next= cannot become an open redirect. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/rooms';
}

const GENERIC_LOGIN_FAILURE = 'Email or password is incorrect.';
const WINDOW_MS = 15 * 60_000;

export async function authRoutes(app: FastifyInstance, s: AdminServices) {
  const ttlMs = s.config.SESSION_TTL_HOURS * 3600_000;

  async function startSession(req: FastifyRequest, reply: FastifyReply, userId: number) {
    // A new id at every login (session fixation): the old session, if any, is destroyed.
    if (req.session) await s.sessions.destroy(req.session.id);
    const { cookieValue } = await s.sessions.create(userId, clientMeta(req));
    setSessionCookie(req, reply, cookieValue, ttlMs, s.config.SECURE_COOKIES);
  }

  app.get('/', async (req, reply) => reply.redirect(req.user ? '/rooms' : '/login'));

  app.get('/signup', async (req, reply) => {
    if (req.user) return reply.redirect('/rooms');
    return reply.type('text/html; charset=utf-8').send(signupPage({ csrfToken: reply.generateCsrf() }));
  });

  app.post('/signup', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const values = { email: body.email ?? '', handle: body.handle ?? '', displayName: body.displayName ?? '' };
    const parsed = signupSchema.safeParse(body);
    const render = (errors: Record<string, string>, status = 400) =>
      reply.code(status).type('text/html; charset=utf-8').send(signupPage({ csrfToken: reply.generateCsrf(), values, errors }));
    if (!parsed.success) return render(fieldErrors(parsed.error));
    try {
      const user = await s.users.create(parsed.data);
      req.log.info({ userId: user.id }, 'user signed up');
      await startSession(req, reply, user.id);
      return reply.redirect('/rooms', 303);
    } catch (err) {
      if (err instanceof DuplicateUserError) {
        return render(err.field === 'handle' ? { handle: 'This handle is taken.' } : { email: 'An account with this email already exists. Log in instead.' }, 409);
      }
      throw err;
    }
  });

  app.get('/login', async (req, reply) => {
    if (req.user) return reply.redirect('/rooms');
    const next = safeNext((req.query as Record<string, unknown>).next);
    return reply.type('text/html; charset=utf-8').send(loginPage({ csrfToken: reply.generateCsrf(), next }));
  });

  app.post(
    '/login',
    {
      config: {
        rateLimit: {
          max: s.config.LOGIN_RATE_PER_IP,
          timeWindow: WINDOW_MS,
          // Thrown, so the error handler renders it (HTML for the form); Retry-After is already set.
          errorResponseBuilder: (_req, ctx) =>
            Object.assign(new Error(`Too many login attempts from your network. Try again in ${Math.max(1, Math.ceil(ctx.ttl / 60_000))} minute(s).`), { statusCode: 429 }),
        },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, string>;
      const next = safeNext(body.next);
      const email = String(body.email ?? '').trim().toLowerCase();
      const render = (status: number, error: string) =>
        reply.code(status).type('text/html; charset=utf-8').send(loginPage({ csrfToken: reply.generateCsrf(), next, email, error }));
      const parsed = loginSchema.safeParse(body);
      if (!parsed.success) return render(400, Object.values(fieldErrors(parsed.error))[0] ?? GENERIC_LOGIN_FAILURE);

      const accountKey = `acct:${email}`;
      const blockedMs = await s.loginFailures.blockedFor(accountKey, s.config.LOGIN_RATE_PER_ACCOUNT);
      if (blockedMs > 0) {
        reply.header('retry-after', Math.ceil(blockedMs / 1000));
        return render(429, `Too many failed attempts. Try again in ${Math.ceil(blockedMs / 60_000)} minute(s).`);
      }
      const user = await s.users.verifyCredentials(email, parsed.data.password);
      if (!user || user.status !== 'active') {
        const failures = await s.loginFailures.fail(accountKey);
        req.log.info({ failures }, 'login failed');
        return render(401, GENERIC_LOGIN_FAILURE);
      }
      await s.loginFailures.reset(accountKey);
      await startSession(req, reply, user.id);
      req.log.info({ userId: user.id }, 'user logged in');
      return reply.redirect(next, 303);
    },
  );

  app.post('/logout', async (req, reply) => {
    // The session's chat sockets close on every replica (a session_revoked event, see AccountService).
    if (req.session) await s.account.logout(actorOf(req), req.session);
    clearSessionCookie(reply);
    return reply.redirect('/login', 303);
  });
}
