// One error policy: 4xx messages are shown to the person; 5xx details are logged once and hidden
// behind the request id.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionError } from '@parley/db';
import { html } from '../views/html.ts';
import { layout } from '../views/layout.ts';
import { SessionStoreUnavailableError } from '../sessions/session-store.ts';
import { isRedisUnavailableError } from '../sessions/redis-store.ts';

/** Seconds a client is asked to wait (Retry-After) while a dependency is unavailable. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;
const OUTAGE_LOG_EVERY_MS = 30_000;

/** Postgres or Redis (sessions, login limiter) cannot be reached: the request could not be served now. */
export function isDependencyOutage(err: unknown): boolean {
  return err instanceof SessionStoreUnavailableError || isConnectionError(err) || isRedisUnavailableError(err);
}

// An outage fails every request: log the first of them, then one line per interval with the count.
let lastOutageLog = 0;
let outagesSinceLog = 0;
function logOutage(req: FastifyRequest, err: unknown): void {
  outagesSinceLog++;
  const now = Date.now();
  if (now - lastOutageLog < OUTAGE_LOG_EVERY_MS) return;
  req.log.warn({ err: (err as Error).message, requestsAnswered503: outagesSinceLog }, 'a dependency is unavailable: answering 503');
  lastOutageLog = now;
  outagesSinceLog = 0;
}

export const wantsHtml = (req: FastifyRequest) =>
  !req.url.startsWith('/api/') && !req.url.startsWith('/internal/') && (req.headers.accept ?? '').includes('text/html');

export function sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  reply.code(status);
  if (wantsHtml(req)) {
    return reply.type('text/html; charset=utf-8').send(
      layout({ title: `Error ${status}`, user: req.user ?? null }, html`<section class="card narrow"><h1>${status === 404 ? 'Not found' : status === 403 ? 'Forbidden' : status === 429 ? 'Too many attempts' : status === 503 ? 'Parley is briefly unavailable' : status < 500 ? 'That did not work' : 'Something went wrong'}</h1><p>${message}</p><p><a href="/">Back to Parley</a></p></section>`),
    );
  }
  return reply.send({ error: message, statusCode: status, requestId: req.id });
}

export const errorPlugin = fp(async (app) => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    // A dependency outage, or a route that said 503 itself (e.g. the abuse limits' counter store):
    // the same answer and the same once-per-interval log line, never a stack per request.
    const outage = isDependencyOutage(err);
    if (outage || err.statusCode === 503) {
      logOutage(req, err);
      reply.header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS)).header('cache-control', 'no-store');
      const message = outage ? 'Parley cannot reach one of its services right now; try again in a few seconds.' : err.message;
      return sendError(req, reply, 503, `${message} Reference: ${req.id}`);
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return sendError(req, reply, status, `Something went wrong on our side. Reference: ${req.id}`);
    }
    if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      return sendError(req, reply, 403, 'This form has expired or did not come from Parley. Reload the page and try again.');
    }
    return sendError(req, reply, status, err.message);
  });
  app.setNotFoundHandler((req, reply) => sendError(req, reply, 404, 'There is nothing at this address.'));
});
