import type { FastifyInstance } from 'fastify';
import type { AdminServices } from '../../app.ts';

export async function healthRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  // Ready when the database and the session store answer. Chat is not a dependency of the panel:
  // its health shows on the dashboard instead of taking admin out of rotation.
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const [database, sessions] = await Promise.all([
      s.pool.query('SELECT 1').then(() => true, () => false),
      s.sessions.ping(),
    ]);
    const checks = { database, sessions };
    const ready = database && sessions;
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    return reply.type(s.registry.contentType).send(await s.registry.metrics());
  });
}
