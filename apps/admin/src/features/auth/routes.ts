import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { clearSessionCookie, clientMeta, setSessionCookie } from '../../plugins/session.ts';
import { DuplicateUserError } from '../users/user-repository.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { loginPage, signupPage } from './views.ts';
import { passwordProblem } from './password-policy.ts';
import { LoginThrottle } from './login-throttle.ts';
import { tryAgainIn } from './abuse-limits.ts';

export const handleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, 'Use 3–32 letters, digits or underscores.');
export const displayNameSchema = z.string().trim().min(1, 'Enter a display name.').max(60, 'Use at most 60 characters.');
/** Strength (length, common passwords, repeats, sequences) is checked here; personal words by signupSchema. */
export const passwordSchema = z.string().superRefine((value, ctx) => {
  const problem = passwordProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const signupSchema = z
  .object({
    email: z.string().trim().max(254, 'Use at most 254 characters.').email('Enter a valid email address.'),
    handle: handleSchema,
    displayName: displayNameSchema,
    // Checked once, below, with the person's own words (zxcvbn is the costly part of a sign-up).
    password: z.string(),
  })
  .superRefine((v, ctx) => {
    const problem = passwordProblem(v.password, [v.email, v.handle, v.displayName]);
    if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
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
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/chat';
}

const GENERIC_LOGIN_FAILURE = 'Email or password is incorrect.';

export async function authRoutes(app: FastifyInstance, s: AdminServices) {
  const throttle = new LoginThrottle(s.loginFailures, s.config);

  async function startSession(req: FastifyRequest, reply: FastifyReply, userId: number) {
    // A new id at every login (session fixation): the old session, if any, is destroyed.
    if (req.session) await s.sessions.destroy(req.session.id);
    const { cookieValue, record } = await s.sessions.create(userId, clientMeta(req));
    // The cookie lives until the session's absolute end; the idle limit slides on the server, so an
    // active person is not logged out by a cookie that stopped at the first idle deadline.
    setSessionCookie(req, reply, cookieValue, record.endsAt - Date.now());
  }

  app.get('/', async (req, reply) => reply.redirect(req.user ? '/chat' : '/login'));

  app.get('/signup', async (req, reply) => {
    if (req.user) return reply.redirect('/chat');
    return reply.type('text/html; charset=utf-8').send(signupPage({ csrfToken: reply.generateCsrf() }));
  });

  // Sign-up never tells whether an e-mail address has an account: a new address and a taken one get
  // the same answer (a redirect to the login page with the same notice), after the same work (the
  // password is hashed and the INSERT tried either way). Handles are public (@mentions), so a taken
  // handle is said plainly, and checked first so that answer does not depend on the e-mail either.
  app.post('/signup', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const values = { email: body.email ?? '', handle: body.handle ?? '', displayName: body.displayName ?? '' };
    const parsed = signupSchema.safeParse(body);
    const render = (errors: Record<string, string>, status = 400) =>
      reply.code(status).type('text/html; charset=utf-8').send(signupPage({ csrfToken: reply.generateCsrf(), values, errors }));
    if (!parsed.success) return render(fieldErrors(parsed.error));
    const handleTaken = () => render({ handle: 'This handle is taken.' }, 409);
    if (await s.users.findByHandle(parsed.data.handle)) return handleTaken();
    try {
      const user = await s.users.create(parsed.data);
      await s.roomService.joinAutoJoinRooms(user.id);
      req.log.info({ userId: user.id }, 'user signed up');
    } catch (err) {
      if (!(err instanceof DuplicateUserError)) throw err;
      if (err.field === 'handle') return handleTaken();
      req.log.info('sign-up with an e-mail address that already has an account');
    }
    return reply.redirect('/login?signedup=1', 303);
  });

  app.get('/login', async (req, reply) => {
    if (req.user) return reply.redirect('/chat');
    const query = req.query as Record<string, unknown>;
    const next = safeNext(query.next);
    const notice = query.signedup ? SIGNED_UP_NOTICE : undefined;
    return reply.type('text/html; charset=utf-8').send(loginPage({ csrfToken: reply.generateCsrf(), next, notice }));
  });

  // Attempts per IP are limited by abuse-limits.ts (before this handler runs).
  app.post(
    '/login',
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, string>;
      const next = safeNext(body.next);
      const email = String(body.email ?? '').trim().toLowerCase();
      const render = (status: number, error: string) =>
        reply.code(status).type('text/html; charset=utf-8').send(loginPage({ csrfToken: reply.generateCsrf(), next, email, error }));
      const parsed = loginSchema.safeParse(body);
      if (!parsed.success) return render(400, Object.values(fieldErrors(parsed.error))[0] ?? GENERIC_LOGIN_FAILURE);

      const client = throttle.client(req, email);
      const blockedMs = await throttle.blockedFor(client);
      if (blockedMs > 0) {
        const seconds = Math.ceil(blockedMs / 1000);
        reply.header('retry-after', seconds);
        return render(429, `Too many failed attempts for this account from this browser or network. ${tryAgainIn(seconds)}`);
      }
      const user = await s.users.verifyCredentials(email, parsed.data.password);
      if (!user || user.status !== 'active') {
        const failures = await throttle.failed(client);
        req.log.info({ failures, trustedDevice: client.untrustedKey === null }, 'login failed');
        return render(401, GENERIC_LOGIN_FAILURE);
      }
      await throttle.succeeded(req, reply, client, email);
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

const SIGNED_UP_NOTICE = 'If that e-mail address was new, your account is ready: log in with it. If it already had an account, log in with that account\'s password.';
