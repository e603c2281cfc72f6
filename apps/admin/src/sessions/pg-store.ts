// Postgres-backed sessions: only for the embedded single-machine mode (no Redis).
import { isConnectionError, type Pool } from '@parley/db';
import { type SessionLifetime, type SessionMeta, type SessionRecord, type SessionStore, SessionStoreUnavailableError, TOUCH_INTERVAL_MS, isPlausibleCookie, newCookieValue, sessionIdOf } from './session-store.ts';

interface Row {
  id: string;
  user_id: number;
  data: SessionMeta;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

const toRecord = (r: Row, lifetime: SessionLifetime): SessionRecord => ({
  id: r.id, userId: r.user_id, ip: r.data.ip, userAgent: r.data.userAgent,
  createdAt: r.created_at.getTime(), lastSeenAt: r.last_seen_at.getTime(), expiresAt: r.expires_at.getTime(),
  endsAt: r.created_at.getTime() + lifetime.absoluteMs,
});

export class PgSessionStore implements SessionStore {
  readonly kind = 'postgres' as const;

  private readonly pool: Pick<Pool, 'query'>;

  constructor(pool: Pool, private readonly lifetime: SessionLifetime) {
    // Every query through here: an unreachable database becomes SessionStoreUnavailableError (a 503).
    this.pool = {
      query: ((...args: Parameters<Pool['query']>) => (pool.query as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: unknown) => {
        throw isConnectionError(err) ? new SessionStoreUnavailableError(err) : err;
      })) as Pool['query'],
    };
  }

  async create(userId: number, meta: SessionMeta) {
    const cookieValue = newCookieValue();
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO sessions (id, user_id, data, expires_at)
       VALUES ($1, $2, $3, now() + LEAST($4::bigint, $5::bigint) * interval '1 millisecond') RETURNING *`,
      [sessionIdOf(cookieValue), userId, meta, this.lifetime.idleMs, this.lifetime.absoluteMs],
    );
    // Opportunistic cleanup keeps the table small without a separate job.
    if (Math.random() < 0.05) await this.pool.query('DELETE FROM sessions WHERE expires_at < now()');
    return { cookieValue, record: toRecord(rows[0]!, this.lifetime) };
  }

  async get(cookieValue: string, meta?: SessionMeta) {
    if (!isPlausibleCookie(cookieValue)) return null;
    const { rows } = await this.pool.query<Row>('SELECT * FROM sessions WHERE id = $1 AND expires_at > now()', [sessionIdOf(cookieValue)]);
    const row = rows[0];
    if (!row) return null;
    if (Date.now() >= row.created_at.getTime() + this.lifetime.absoluteMs) {
      await this.destroy(row.id);
      return null;
    }
    if (Date.now() - row.last_seen_at.getTime() > TOUCH_INTERVAL_MS) {
      const { rows: touched } = await this.pool.query<Row>(
        `UPDATE sessions SET last_seen_at = now(), data = COALESCE($3, data),
           -- the idle timeout, never past the absolute end
           expires_at = LEAST(now() + $2 * interval '1 millisecond', created_at + $4 * interval '1 millisecond')
         WHERE id = $1 RETURNING *`,
        [row.id, this.lifetime.idleMs, meta ?? null, this.lifetime.absoluteMs],
      );
      return touched[0] ? toRecord(touched[0], this.lifetime) : null;
    }
    return toRecord(row, this.lifetime);
  }

  async destroy(sessionId: string) {
    await this.pool.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
  }

  async listForUser(userId: number) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM sessions WHERE user_id = $1 AND expires_at > now() AND created_at > now() - $2 * interval '1 millisecond'
       ORDER BY last_seen_at DESC`,
      [userId, this.lifetime.absoluteMs],
    );
    return rows.map((r) => toRecord(r, this.lifetime));
  }

  async destroyAllForUser(userId: number) {
    const { rows } = await this.pool.query<{ id: string }>('DELETE FROM sessions WHERE user_id = $1 RETURNING id', [userId]);
    return rows.map((r) => r.id);
  }

  async ping() {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}
