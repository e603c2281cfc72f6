// Chat's probe routes: liveness, readiness (the load balancer's signal, false while draining) and the
// Prometheus scrape.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

const statusSchema = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } as const;
const readySchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: { status: { type: 'string', enum: ['ready', 'not ready'] }, checks: { type: 'object', additionalProperties: { type: 'boolean' } } },
} as const;

export interface ProbeDeps {
  registry: Registry;
  /** Checks of this replica's dependencies for /readyz. */
  readiness: () => Promise<Record<string, boolean>>;
}

export function probeRoutes(app: FastifyInstance, deps: ProbeDeps): void {
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, (_req, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', { schema: { response: { 200: readySchema, 503: readySchema } } }, async (_req, reply) => {
    const checks = await deps.readiness();
    // The fan-out is reported but does not gate readiness: without it chat still works (every replica
    // reconciles from Postgres), and failing every replica's probe on a Redis blip would be an outage.
    const ready = Object.entries(checks).every(([name, ok]) => ok || name === 'fanout');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_req, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
}
