// Chat's internal API (X-Internal-Token, not routed by the edge): replica stats for the admin dashboard
// and the control plane's doorbell. docs/protocol.md describes both.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Hub } from '../hub/hub.ts';
import { routeOf } from './observe.ts';

/** Most bytes read from an internal API request body; more answers 413. */
export const MAX_INTERNAL_BODY = 16 * 1024;

export type InternalHub = Pick<Hub, 'stats'> & { readonly control: Pick<Hub['control'], 'poke'> };

const tokenHeaders = { type: 'object', required: ['x-internal-token'], properties: { 'x-internal-token': { type: 'string' } } } as const;
const replicaSchema = {
  type: 'object',
  required: ['replica', 'connections', 'rooms', 'startedAt', 'at', 'draining'],
  properties: {
    replica: { type: 'string' }, connections: { type: 'integer' }, rooms: { type: 'integer' }, startedAt: { type: 'string' },
    at: { type: 'number' }, draining: { type: 'boolean' }, messagesPerMinute: { type: 'number' },
  },
} as const;
const statsSchema = {
  type: 'object',
  required: ['replica', 'replicas', 'onlineUsers', 'messagesPerMinute', 'counters'],
  properties: {
    replica: { type: 'string' },
    replicas: { type: 'array', items: replicaSchema },
    onlineUsers: { type: 'integer' },
    messagesPerMinute: { type: 'number' },
    counters: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;
const acceptedSchema = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } as const;

export function internalRoutes(app: FastifyInstance, deps: { hub: InternalHub; internalToken: string }): void {
  const expected = Buffer.from(deps.internalToken);
  const authorized = (req: FastifyRequest) => {
    const given = Buffer.from(String(req.headers['x-internal-token'] ?? ''));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  // Every path under /internal/, matched or not (an unknown one answers 404 only to a caller with the
  // token). The matched template is checked too: the router decodes %-escapes the raw URL still has.
  app.addHook('onRequest', (req, reply, done) => {
    const internal = routeOf(req).startsWith('/internal/') || req.url.startsWith('/internal/');
    if (!internal || authorized(req)) return done();
    void reply.code(401).send({ error: 'missing or wrong X-Internal-Token', requestId: req.id });
  });

  app.get('/internal/stats', { schema: { headers: tokenHeaders, response: { 200: statsSchema } } }, (_req, reply) => reply.send(deps.hub.stats()));

  void app.register((scope, _opts, done) => {
    // A doorbell for the control plane (admin may ring it after committing events); the events
    // themselves are read from Postgres, so the body, of any type, is only size-checked.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, next) => next(null, undefined));
    scope.post('/internal/control/poke', { bodyLimit: MAX_INTERNAL_BODY, schema: { headers: tokenHeaders, response: { 202: acceptedSchema } } }, (_req, reply) => {
      deps.hub.control.poke();
      return reply.code(202).send({ ok: true });
    });
    done();
  });
}
