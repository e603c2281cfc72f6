// One error policy: 4xx messages are shown to the person; 5xx details are logged once and hidden
// behind the request id.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../views/html.ts';
import { layout } from '../views/layout.ts';

export const wantsHtml = (req: FastifyRequest) =>
  !req.url.startsWith('/api/') && !req.url.startsWith('/internal/') && (req.headers.accept ?? '').includes('text/html');

export function sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  reply.code(status);
  if (wantsHtml(req)) {
    return reply.type('text/html; charset=utf-8').send(
      layout({ title: `Error ${status}`, user: req.user ?? null }, html`<section class="card narrow"><h1>${status === 404 ? 'Not found' : status === 403 ? 'Forbidden' : status === 429 ? 'Too many attempts' : status < 500 ? 'That did not work' : 'Something went wrong'}</h1><p>${message}</p><p><a href="/">Back to Parley</a></p></section>`),
    );
  }
  return reply.send({ error: message, statusCode: status, requestId: req.id });
}

export const errorPlugin = fp(async (app) => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
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
