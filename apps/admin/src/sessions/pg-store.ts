// Postgres-backed sessions: only for the embedded single-machine mode (no Redis).
import { isConnectionError, type Pool } from '@parley/db';
import { type SessionMeta, type SessionRecord, type SessionStore, SessionStoreUnavailableError, TOUCH_INTERVAL_MS, isPlausibleCookie, newCookieValue, sessionIdOf } from './session-store.ts';

interface Row {
  id: string;
  user_id: number;
  data: SessionMeta;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

const toRecord = (r: Row): SessionRecord => ({
  id: r.id, userId: r.user_id, ip: r.data.ip, userAgent: r.data.userAgent,
  createdAt: r.created_at.getTime(), lastSeenAt: r.last_seen_at.getTime(), expiresAt: r.expires_at.getTime(),
});

export class PgSessionStore implements SessionStore {
  readonly kind = 'postgres' as const;

  private readonly pool: Pick<Pool, 'query'>;

  constructor(pool: Pool, private readonly ttlMs: number) {
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
      `INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond') RETURNING *`,
      [sessionIdOf(cookieValue), userId, meta, this.ttlMs],
    );
    // Opportunistic cleanup keeps the table small without a separate job.
    if (Math.random() < 0.05) await this.pool.query('DELETE FROM sessions WHERE expires_at < now()');
    return { cookieValue, record: toRecord(rows[0]!) };
  }

  async get(cookieValue: string, meta?: SessionMeta) {
    if (!isPlausibleCookie(cookieValue)) return null;
    const { rows } = await this.pool.query<Row>('SELECT * FROM sessions WHERE id = $1 AND expires_at > now()', [sessionIdOf(cookieValue)]);
    const row = rows[0];
    if (!row) return null;
    if (Date.now() - row.last_seen_at.getTime() > TOUCH_INTERVAL_MS) {
      const { rows: touched } = await this.pool.query<Row>(
        `UPDATE sessions SET last_seen_at = now(), expires_at = now() + $2 * interval '1 millisecond', data = COALESCE($3, data)
         WHERE id = $1 RETURNING *`,
        [row.id, this.ttlMs, meta ?? null],
      );
      return touched[0] ? toRecord(touched[0]) : null;
    }
    return toRecord(row);
  }

  async destroy(sessionId: string) {
    await this.pool.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
  }

  async listForUser(userId: number) {
    const { rows } = await this.pool.query<Row>('SELECT * FROM sessions WHERE user_id = $1 AND expires_at > now() ORDER BY last_seen_at DESC', [userId]);
    return rows.map(toRecord);
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
