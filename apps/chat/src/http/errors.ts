// One error policy for chat's HTTP API: JSON bodies `{error, requestId}`; 4xx messages are shown to the
// caller; 5xx details are logged once and hidden behind the request id.
import type { FastifyError, FastifyInstance } from 'fastify';

export function installErrorPolicy(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal error', requestId: req.id });
    }
    const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body larger than ${req.routeOptions.bodyLimit} bytes` : err.message;
    return reply.code(status).send({ error: message, requestId: req.id });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not found', requestId: req.id }));
}
