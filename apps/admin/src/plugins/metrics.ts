// Admin's metrics: the HTTP RED histogram by route template (never the raw URL), login failures by
// reason (read from the login route's answer, so the auth code stays free of metrics), session store
// operations (a decorator around any SessionStore), Redis errors, and dependency/readiness gauges.
// docs/operations.md documents each series.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEPENDENCY_UP, httpLabels, httpRequestHistogram, type HttpHistogram } from '@parley/telemetry';
import type { SessionStore } from '../sessions/session-store.ts';

export const LOGIN_FAILURE_REASONS = ['bad_credentials', 'locked_out', 'invalid_input'] as const;
const SESSION_OPS = ['create', 'get', 'destroy', 'listForUser', 'destroyAllForUser', 'ping'] as const;
type SessionOp = (typeof SESSION_OPS)[number];

export interface AdminMetrics {
  http: HttpHistogram;
  loginFailures: Counter<'reason'>;
  sessionOps: Counter<'op' | 'outcome'>;
  sessionSeconds: Histogram<'op'>;
  redisErrors: Counter<'client'>;
}

export function createAdminMetrics(registry: Registry): AdminMetrics {
  const r = [registry];
  const m: AdminMetrics = {
    http: httpRequestHistogram(registry),
    loginFailures: new Counter({ name: 'parley_admin_login_failures_total', help: 'Refused logins by reason (bad_credentials, locked_out = too many attempts, invalid_input)', labelNames: ['reason'] as const, registers: r }),
    sessionOps: new Counter({ name: 'parley_admin_session_store_operations_total', help: 'Session store operations by operation and outcome (ok | error)', labelNames: ['op', 'outcome'] as const, registers: r }),
    sessionSeconds: new Histogram({ name: 'parley_admin_session_store_seconds', help: 'Session store operation latency', labelNames: ['op'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: r }),
    redisErrors: new Counter({ name: 'parley_redis_errors_total', help: 'Redis connection/command errors, by client', labelNames: ['client'] as const, registers: r }),
  };
  for (const reason of LOGIN_FAILURE_REASONS) m.loginFailures.inc({ reason }, 0);
  for (const op of SESSION_OPS) for (const outcome of ['ok', 'error']) m.sessionOps.inc({ op, outcome }, 0);
  m.redisErrors.inc({ client: 'admin' }, 0);
  return m;
}

/** Dependency and readiness gauges, checked at scrape time (one cheap query each, 2 s cap, shared by both gauges). */
export function registerAdminGauges(registry: Registry, checks: { postgres: () => Promise<boolean>; sessions: () => Promise<boolean>; sessionsKind: 'redis' | 'postgres' }): void {
  const withTimeout = (p: Promise<boolean>) => Promise.race([p.catch(() => false), new Promise<boolean>((res) => setTimeout(res, 2_000, false).unref())]);
  // prom-client collects every metric of a scrape concurrently: both gauges await the same check.
  let inFlight: Promise<{ postgres: boolean; sessions: boolean }> | null = null;
  const check = () => (inFlight ??= Promise.all([withTimeout(checks.postgres()), withTimeout(checks.sessions())])
    .then(([postgres, sessions]) => ({ postgres, sessions }))
    .finally(() => setImmediate(() => { inFlight = null; })));
  new Gauge({ name: DEPENDENCY_UP, help: '1 when the dependency answered the last check', labelNames: ['dependency'] as const, registers: [registry], async collect() {
    const { postgres, sessions } = await check();
    this.set({ dependency: 'postgres' }, postgres ? 1 : 0);
    if (checks.sessionsKind === 'redis') this.set({ dependency: 'redis' }, sessions ? 1 : 0);
  } });
  // Same rule as /readyz: the database and the session store answer.
  new Gauge({ name: 'parley_ready', help: '1 when this process reports ready on /readyz', registers: [registry], async collect() {
    const { postgres, sessions } = await check();
    this.set(postgres && sessions ? 1 : 0);
  } });
}

/** Wrap a session store so every operation is counted and timed. */
export function instrumentSessionStore(store: SessionStore, metrics: AdminMetrics): SessionStore {
  const timed = <T>(op: SessionOp, run: () => Promise<T>): Promise<T> => {
    const end = metrics.sessionSeconds.startTimer({ op });
    return run().then(
      (v) => {
        end();
        metrics.sessionOps.inc({ op, outcome: 'ok' });
        return v;
      },
      (err: unknown) => {
        end();
        metrics.sessionOps.inc({ op, outcome: 'error' });
        throw err;
      },
    );
  };
  return {
    kind: store.kind,
    create: (userId, meta) => timed('create', () => store.create(userId, meta)),
    get: (cookie, meta) => timed('get', () => store.get(cookie, meta)),
    destroy: (id) => timed('destroy', () => store.destroy(id)),
    listForUser: (userId) => timed('listForUser', () => store.listForUser(userId)),
    destroyAllForUser: (userId) => timed('destroyAllForUser', () => store.destroyAllForUser(userId)),
    ping: () => timed('ping', () => store.ping()),
  };
}

/** Records every response: route template (or `unmatched`), method, status class; login refusals by reason. */
export const metricsPlugin = fp(async (app: FastifyInstance, opts: { metrics: AdminMetrics }) => {
  const { metrics } = opts;
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.http.observe(httpLabels(route, req.method, reply.statusCode), reply.elapsedTime / 1000);
    if (route === '/login' && req.method === 'POST') {
      const reason = reply.statusCode === 401 ? 'bad_credentials' : reply.statusCode === 429 ? 'locked_out' : reply.statusCode === 400 ? 'invalid_input' : null;
      if (reason) metrics.loginFailures.inc({ reason });
    }
  });
}, { name: 'parley-metrics' });
