// Budgets for the actions one person or one network could repeat to flood the panel: login and
// sign-up (per IP), room creation, opening direct conversations and password change (per user).
// Counted in Redis when REDIS_URL is set (shared by every admin replica), in memory otherwise.
// Applied by route from one table, so the routes themselves (some owned by other features) stay as
// they are.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminServices } from '../../app.ts';

interface Budget {
  /** Part of the counter's key; distinct per budget. */
  name: string;
  max: number;
  windowMs: number;
  /** Who pays: the signed-in user, or the client's IP. */
  per: 'user' | 'ip';
  /** The one sentence a person sees, before "Try again in …". */
  message: string;
}

const HOUR = 3600_000;

export function budgets(config: AdminServices['config']): Record<string, Budget> {
  return {
    // Per account + client failures are counted by the login handler (login-throttle.ts) behind this.
    'POST /login': { name: 'login', max: config.LOGIN_RATE_PER_IP, windowMs: 15 * 60_000, per: 'ip', message: 'Too many login attempts from your network.' },
    'POST /signup': { name: 'signup', max: config.SIGNUP_RATE_PER_IP, windowMs: HOUR, per: 'ip', message: 'Too many sign-ups from your network.' },
    'POST /rooms': { name: 'room-create', max: config.ROOM_CREATE_RATE_PER_USER, windowMs: HOUR, per: 'user', message: 'You have created too many rooms in the last hour.' },
    'POST /direct': { name: 'dm-create', max: config.DM_CREATE_RATE_PER_USER, windowMs: HOUR, per: 'user', message: 'You have opened too many direct conversations in the last hour.' },
    'POST /profile/password': { name: 'password-change', max: config.PASSWORD_CHANGE_RATE_PER_USER, windowMs: HOUR, per: 'user', message: 'Too many password change attempts.' },
  };
}

export function tryAgainIn(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return seconds < 60 ? `Try again in ${Math.max(1, seconds)} second(s).` : `Try again in ${minutes} minute(s).`;
}

/** A 429 the error handler renders (HTML for forms, JSON otherwise); Retry-After is set by the caller. */
export function tooManyRequests(message: string, retryAfterSeconds: number): Error {
  return Object.assign(new Error(`${message} ${tryAgainIn(retryAfterSeconds)}`), { statusCode: 429 });
}

/** A 503 for when the counters (Redis) cannot be read: refuse for now rather than run without a limit. */
export function counterStoreUnavailable(): Error {
  return Object.assign(new Error('Parley cannot take this request right now. Try again in a minute.'), { statusCode: 503 });
}

export const abuseLimits = fp(async (app: FastifyInstance, s: AdminServices) => {
  const checks = new Map(
    Object.entries(budgets(s.config)).map(([route, budget]) => [
      route,
      {
        budget,
        check: app.createRateLimit({
          max: budget.max,
          timeWindow: budget.windowMs,
          keyGenerator: (req: FastifyRequest) => `${budget.name}:${budget.per === 'user' ? `user:${req.user!.id}` : `ip:${req.ip}`}`,
        }),
      },
    ]),
  );

  // The budgets name routes other features own: if one is renamed or removed, refuse to start
  // rather than silently run it without its limit.
  const seen = new Set<string>();
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) seen.add(`${method} ${r.url}`);
  });
  app.addHook('onReady', async () => {
    const missing = [...checks.keys()].filter((route) => !seen.has(route));
    if (missing.length) throw new Error(`abuse limits name routes that do not exist: ${missing.join(', ')}`);
  });

  app.addHook('preHandler', async (req, reply) => {
    const limit = checks.get(`${req.method} ${req.routeOptions.url}`);
    // Not signed in: the route answers 401 itself, and there is nobody to charge.
    if (!limit || (limit.budget.per === 'user' && !req.user)) return;
    let result: Awaited<ReturnType<typeof limit.check>>;
    try {
      result = await limit.check(req);
    } catch (err) {
      // The counter store (Redis) is unreachable: refuse for now rather than run without a limit.
      req.log.warn({ err: (err as Error).message, budget: limit.budget.name }, 'rate limit store unavailable');
      throw counterStoreUnavailable();
    }
    if (result.isAllowed || !result.isExceeded) return;
    req.log.info({ budget: limit.budget.name, userId: req.user?.id }, 'rate limit reached');
    reply.header('retry-after', result.ttlInSeconds);
    throw tooManyRequests(limit.budget.message, result.ttlInSeconds);
  });
});
