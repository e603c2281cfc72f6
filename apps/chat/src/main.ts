// Composition root of the chat service: config, Postgres, fan-out bus, hub, HTTP/WebSocket server,
// and the SIGTERM drain.
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '@parley/config';
import { createLogger, DependencyStatus } from '@parley/logging';
import { createPool, describeDbError, isConnectionError, waitForDatabase } from '@parley/db';
import { CloseCode } from '@parley/protocol';
import { allowedOrigins, chatConfigSchema } from './config.ts';
import { createRedisBus } from './bus/redis-bus.ts';
import { createPgBus } from './bus/pg-bus.ts';
import { withOutageLog } from './health/outage-log.ts';
import { listenPg } from './bus/pg-listener.ts';
import { PgControlStore } from './hub/control-store.ts';
import { PgSessionChecks } from './hub/session-checks.ts';
import { MessageRepository } from './messages/message-repository.ts';
import { Hub } from './hub/hub.ts';
import { createChatServer } from './http/server.ts';
import { instrumentBus } from './bus/instrumented-bus.ts';
import { createChatMetrics, registerChatGauges } from './metrics.ts';
import { registerPoolMetrics, startTracing, stopTracing, traceLogMixin } from '@parley/telemetry';

const config = loadConfig(chatConfigSchema);
const replicaId = config.REPLICA_ID ?? `${hostname()}-${process.pid}`;
const tracing = await startTracing('chat');
const log = createLogger('chat', config.LOG_LEVEL, tracing ? { mixin: traceLogMixin } : {}).child({ replica: replicaId });

const DB_PROBE_MS = 1_000;
const pool = createPool(config.DATABASE_URL, { max: config.DB_POOL_MAX, applicationName: 'parley-chat' });
const registry = new Registry();
registry.setDefaultLabels({ service: 'chat', replica: replicaId });
collectDefaultMetrics({ register: registry });
const metrics = createChatMetrics(registry);
registerPoolMetrics(registry, pool, config.DB_POOL_MAX);
// Postgres is required: /readyz is false until it first answers and while it is unavailable, and true
// again by itself when it is back (the probe below, or any batch that commits). Outages are logged once
// when they start and once when they end, not per failed batch.
const database = new DependencyStatus(log, 'postgres');
let dbReachedOnce = false;
// Either service may start first: keep retrying the database in the background; /readyz reflects it.
void (async () => {
  for (;;) {
    try {
      await waitForDatabase(pool, { timeoutMs: 60_000, onRetry: (err, delayMs) => log.warn({ delayMs }, describeDbError(err, config.DATABASE_URL)) });
      dbReachedOnce = true;
      log.info('database reachable');
      return;
    } catch (err) {
      log.error(describeDbError(err, config.DATABASE_URL));
    }
  }
})();
const dbProbe = setInterval(() => {
  if (!dbReachedOnce) return;
  pool.query('SELECT 1').then(() => database.succeeded(), (err: unknown) => {
    if (isConnectionError(err)) database.failed(err);
  });
}, DB_PROBE_MS);
dbProbe.unref();

const bus = withOutageLog(
  instrumentBus(
    config.REDIS_URL
      ? createRedisBus(config.REDIS_URL, config.REDIS_KEY_PREFIX, log, { replicaId, onRedisError: (client) => metrics.redisErrors.inc({ client }) })
      : createPgBus(config.DATABASE_URL, pool, log, replicaId),
    metrics,
  ),
  new DependencyStatus(log, config.REDIS_URL ? 'redis fan-out' : 'postgres fan-out'),
);
const messages = new MessageRepository(pool, {
  concurrency: config.DB_WRITE_CONCURRENCY,
  maxBatch: config.MESSAGE_BATCH_MAX,
  maxQueue: config.MAX_WRITE_QUEUE,
  health: { failed: (err) => database.failed(err), succeeded: () => database.succeeded() },
  onBatch: (size, seconds) => {
    metrics.writeBatchSize.observe(size);
    metrics.writeCommit.observe(seconds);
  },
});
const sessions = new PgSessionChecks(pool);
const hub = new Hub(
  {
    replicaId,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    sendRatePerSec: config.SEND_RATE_PER_SEC,
    sendBurst: config.SEND_BURST,
    heartbeatMs: config.HEARTBEAT_MS,
    presenceTtlMs: config.PRESENCE_TTL_MS,
    historyPageSize: config.HISTORY_PAGE_SIZE,
    reconcileMs: config.RECONCILE_MS,
    controlPollMs: config.CONTROL_POLL_MS,
    revalidateMs: config.REVALIDATE_MS,
    frameRatePerSec: config.FRAME_RATE_PER_SEC,
    frameBurst: config.FRAME_BURST,
    maxSocketsPerUser: config.MAX_SOCKETS_PER_USER,
    maxRoomsPerSocket: config.MAX_ROOMS_PER_SOCKET,
  },
  messages,
  bus,
  log,
  { control: new PgControlStore(pool), sessions },
  metrics,
);
// The control plane's doorbell: NOTIFY parley_control at each event's COMMIT, and a poll after every
// reconnect of this connection (notifications in between are lost; the events are not).
const controlDoorbell = listenPg({
  connectionString: config.DATABASE_URL, channel: 'parley_control', applicationName: 'parley-chat-control', log,
  onNotify: () => hub.control.poke(), onRelisten: () => hub.control.poke(),
});

registerChatGauges(registry, {
  connections: () => hub.connections.size,
  writeQueue: () => messages.writer.queued(),
  writeQueueLimit: config.MAX_WRITE_QUEUE,
  writeBatches: () => messages.writer.stats.batches,
  writeFallbacks: () => messages.writer.stats.fallbacks,
  busUp: () => bus.healthy(),
  databaseUp: () => dbReachedOnce && database.up,
  ready: () => dbReachedOnce && database.up && !hub.draining,
  hubCounters: () => hub.counters,
});

const { server, stopAcceptingUpgrades } = await createChatServer({
  hub,
  log,
  registry,
  metrics,
  internalToken: config.INTERNAL_TOKEN,
  chatTokenSecret: config.CHAT_TOKEN_SECRET,
  allowedOrigins: allowedOrigins(config),
  maxFrameBytes: config.MAX_FRAME_BYTES,
  readiness: () => Promise.resolve({ database: dbReachedOnce && database.up, fanout: bus.healthy(), accepting: !hub.draining }),
  // Upgrades ask the hub's cache (kept true by control events); re-validation asks Postgres directly.
  sessions: hub.upgradeSessions,
});

server.listen(config.PORT, config.HOST, () => {
  hub.start();
  log.info({ port: config.PORT, fanout: bus.kind }, 'chat listening');
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Whatever happens below, exit within the grace period.
  setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.DRAIN_DELAY_MS + config.SHUTDOWN_TIMEOUT_MS + 2_000).unref();
  // 1. Report not-ready and refuse new upgrades so the load balancer sends clients elsewhere; keep
  //    serving the open sockets meanwhile (endpoint removal takes a moment).
  hub.draining = true;
  const drainStarted = Date.now();
  setInterval(() => metrics.drainSeconds.set((Date.now() - drainStarted) / 1000), 250).unref();
  stopAcceptingUpgrades();
  log.info({ signal, drainDelayMs: config.DRAIN_DELAY_MS }, 'draining: not ready, still serving');
  await new Promise((r) => setTimeout(r, config.DRAIN_DELAY_MS));
  // 2. Stop handling frames, let in-flight sends commit and get their acks, then close every socket
  //    with 1012: clients reconnect (with jitter) to another replica and resume from their last seq.
  server.close();
  const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
  await hub.drain(CloseCode.ServiceRestart, 'service restart', deadline);
  await hub.sayGoodbye();
  hub.stop();
  server.closeAllConnections();
  // 3. Anything still queued for the database is written (its senders resend and get a duplicate ack).
  await Promise.race([messages.writer.idle(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
  await bus.close().catch(() => undefined);
  await controlDoorbell.close();
  await pool.end().catch(() => undefined);
  await stopTracing();
  log.info({ remaining: hub.connections.size, drainMs: Date.now() - drainStarted }, 'chat stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
