// Composition root of the admin service.
import { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '@parley/config';
import { createLogger, DependencyStatus } from '@parley/logging';
import { createPool, describeDbError, waitForDatabase } from '@parley/db';
import { adminConfigSchema } from './config.ts';
import { buildApp } from './app.ts';
import { RedisSessionStore } from './sessions/redis-store.ts';
import { PgSessionStore } from './sessions/pg-store.ts';
import { sessionLifetimeOf } from './sessions/session-store.ts';
import { ChatInternalClient } from './features/chat/chat-client.ts';
import { MemoryAttemptLimiter, RedisAttemptLimiter } from './features/auth/attempt-limiter.ts';
import { UserRepository } from './features/users/user-repository.ts';
import { ensureFirstAdmin } from './bootstrap-admin.ts';
import { createAdminMetrics, instrumentSessionStore, registerAdminGauges } from './plugins/metrics.ts';
import { registerPoolMetrics, startTracing, stopTracing } from '@parley/telemetry';

const config = loadConfig(adminConfigSchema);
// Admin binds trace_id into each request's logger (plugins/tracing.ts), so no log mixin here (pino
// would write the key twice).
await startTracing('admin');
const log = createLogger('admin', config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, { max: config.DB_POOL_MAX, applicationName: 'parley-admin' });

const redis = config.REDIS_URL
  ? new Redis(config.REDIS_URL, {
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
      maxRetriesPerRequest: 2,
      // A Redis that accepts connections but does not answer must not hold requests: they fail (503).
      commandTimeout: 2_000,
      connectionName: 'parley-admin',
    })
  : null;
// Logged once when Redis goes away and once when it is back (ioredis reports every reconnect attempt).
const redisStatus = new DependencyStatus(log, 'redis');
redis?.on('ready', () => redisStatus.succeeded());

const lifetime = sessionLifetimeOf(config);
const registry = new Registry();
registry.setDefaultLabels({ service: 'admin' });
collectDefaultMetrics({ register: registry });
const metrics = createAdminMetrics(registry);
registerPoolMetrics(registry, pool, config.DB_POOL_MAX);
redis?.on('error', (err) => {
  metrics.redisErrors.inc({ client: 'admin' });
  redisStatus.failed(err);
});
const sessions = instrumentSessionStore(redis ? new RedisSessionStore(redis, config.REDIS_KEY_PREFIX, lifetime) : new PgSessionStore(pool, lifetime), metrics);
registerAdminGauges(registry, {
  postgres: () => pool.query('SELECT 1').then(() => true),
  sessions: () => sessions.ping(),
  sessionsKind: sessions.kind,
});

const app = await buildApp({
  config,
  log,
  pool,
  redis,
  sessions,
  chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN),
  loginFailures: redis ? new RedisAttemptLimiter(redis, config.REDIS_KEY_PREFIX, 15 * 60_000) : new MemoryAttemptLimiter(15 * 60_000),
  registry,
  metrics,
});

await app.listen({ port: config.PORT, host: config.HOST });
log.info({ sessions: redis ? 'redis' : 'postgres', publicUrl: config.PUBLIC_URL }, 'admin ready to serve');

// The database may come up after us: keep retrying in the background (readiness says 503 meanwhile),
// then make sure the first admin exists.
void (async () => {
  for (;;) {
    try {
      await waitForDatabase(pool, { timeoutMs: 60_000, onRetry: (err, delayMs) => log.warn({ delayMs }, describeDbError(err, config.DATABASE_URL)) });
      await ensureFirstAdmin(pool, new UserRepository(pool), config.PARLEY_ADMIN_EMAIL, config.PARLEY_ADMIN_PASSWORD, log);
      return;
    } catch (err) {
      log.error(describeDbError(err, config.DATABASE_URL));
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
})();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing in-flight requests');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await app.close(); // stops accepting, waits for in-flight requests
  await pool.end().catch(() => undefined);
  redis?.disconnect();
  await stopTracing();
  log.info('admin stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
