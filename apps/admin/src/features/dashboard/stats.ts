// Gathers what the dashboard shows: online users and connections per chat replica (from chat's
// /internal/stats, which every replica fills via the bus), messages per minute over the last hour
// (Postgres), and the health of Postgres, Redis and each chat replica.
import type { AdminServices } from '../../app.ts';
import type { DashboardData } from './view.ts';

/** A replica that has not announced itself for this long is shown as unhealthy. */
const REPLICA_STALE_MS = 15_000;

async function timed<T>(fn: () => Promise<T>): Promise<{ ok: boolean; ms: number; value?: T; error?: string }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ok: true, ms: Math.round(performance.now() - started), value };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message.slice(0, 200) };
  }
}

export async function messagesPerMinute(s: Pick<AdminServices, 'pool'>): Promise<number[]> {
  const { rows } = await s.pool.query<{ ago: number; n: number }>(
    `SELECT floor(extract(epoch FROM (now() - created_at)) / 60)::int AS ago, count(*)::int AS n
     FROM messages WHERE created_at > now() - interval '60 minutes' GROUP BY 1`,
  );
  const perMinute = new Array<number>(60).fill(0);
  for (const r of rows) if (r.ago >= 0 && r.ago < 60) perMinute[59 - r.ago]! += r.n;
  return perMinute;
}

export async function collectDashboard(s: AdminServices, requestId?: string): Promise<DashboardData> {
  const withTimeout = <T>(p: Promise<T>, ms = 2_000) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
  const [postgres, redis, chat, perMinute, totals] = await Promise.all([
    timed(() => withTimeout(s.pool.query('SELECT 1'))),
    s.redis ? timed(() => withTimeout(s.redis!.ping())) : Promise.resolve(null),
    timed(() => s.chat.stats(requestId)),
    messagesPerMinute(s).catch(() => null),
    s.pool
      .query<{ users: number; rooms: number }>(`SELECT (SELECT count(*)::int FROM users WHERE status = 'active') AS users, (SELECT count(*)::int FROM rooms WHERE kind <> 'direct' AND archived_at IS NULL) AS rooms`)
      .then((r) => r.rows[0]!, () => null),
  ]);
  const now = Date.now();
  const replicas = (chat.value?.replicas ?? []).map((r) => {
    const ageMs = Math.max(0, now - r.at);
    return { replica: r.replica, connections: r.connections, rooms: r.rooms, draining: r.draining, ageMs, healthy: !r.draining && ageMs < REPLICA_STALE_MS, startedAt: r.startedAt };
  });
  return {
    at: new Date(now).toISOString(),
    onlineUsers: chat.value?.onlineUsers ?? null,
    connections: chat.value ? replicas.reduce((n, r) => n + r.connections, 0) : null,
    replicas,
    messagesPerMinute: perMinute,
    activeUsers: totals?.users ?? null,
    openRooms: totals?.rooms ?? null,
    health: {
      postgres: { ok: postgres.ok, ms: postgres.ms, error: postgres.error },
      redis: redis ? { ok: redis.ok, ms: redis.ms, error: redis.error } : null,
      chat: { ok: chat.ok, ms: chat.ms, error: chat.error },
    },
  };
}
