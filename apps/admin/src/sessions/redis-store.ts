import type { Redis } from 'ioredis';
import { type SessionLifetime, type SessionMeta, type SessionRecord, type SessionStore, SessionStoreUnavailableError, TOUCH_INTERVAL_MS, isPlausibleCookie, newCookieValue, nextExpiry, sessionIdOf } from './session-store.ts';

/**
 * ioredis failing because the server is unreachable (as opposed to a command Redis refused): given up
 * after the retries, the connection closed, the offline queue off, or the command timeout.
 */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return false;
  return err.name === 'MaxRetriesPerRequestError' || /^(Connection is closed|Stream isn't writeable|Command timed out|connect ECONNREFUSED|read ECONNRESET)/.test(err.message)
    || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes((err as { code?: string }).code ?? '');
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;

  /** Set once the connection was ready: before that, commands wait in ioredis's offline queue (startup). */
  private connectedOnce: boolean;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly lifetime: SessionLifetime) {
    this.connectedOnce = redis.status === 'ready';
    redis.on('ready', () => {
      this.connectedOnce = true;
    });
  }

  /**
   * Every Redis call goes through here: once connected, while the connection is lost it fails at once
   * (a request must not wait through reconnect backoff), and connection failures become
   * SessionStoreUnavailableError.
   */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.connectedOnce && this.redis.status !== 'ready') throw new SessionStoreUnavailableError(new Error(`redis connection is ${this.redis.status}`));
    try {
      return await op();
    } catch (err) {
      throw isRedisUnavailableError(err) ? new SessionStoreUnavailableError(err) : err;
    }
  }

  private key(id: string) {
    return `${this.prefix}sess:${id}`;
  }

  private userKey(userId: number) {
    return `${this.prefix}user-sess:${userId}`;
  }

  async create(userId: number, meta: SessionMeta) {
    const cookieValue = newCookieValue();
    const now = Date.now();
    const endsAt = now + this.lifetime.absoluteMs;
    const record: SessionRecord = { id: sessionIdOf(cookieValue), userId, createdAt: now, lastSeenAt: now, expiresAt: nextExpiry(now, endsAt, this.lifetime), endsAt, ...meta };
    await this.call(() => this.redis.multi()
      .set(this.key(record.id), JSON.stringify(record), 'PXAT', record.expiresAt)
      .sadd(this.userKey(userId), record.id)
      .pexpire(this.userKey(userId), this.lifetime.idleMs)
      .exec());
    return { cookieValue, record };
  }

  async get(cookieValue: string, meta?: SessionMeta) {
    if (!isPlausibleCookie(cookieValue)) return null;
    const id = sessionIdOf(cookieValue);
    const raw = await this.call(() => this.redis.get(this.key(id)));
    if (!raw) return null;
    const record = JSON.parse(raw) as SessionRecord;
    const now = Date.now();
    // Redis expires the key at the absolute end too; this covers the last moment before it does.
    if (now >= record.endsAt) return null;
    if (now - record.lastSeenAt > TOUCH_INTERVAL_MS) {
      record.lastSeenAt = now;
      record.expiresAt = nextExpiry(now, record.endsAt, this.lifetime);
      if (meta) Object.assign(record, meta);
      await this.call(() => this.redis.multi()
        .set(this.key(id), JSON.stringify(record), 'PXAT', record.expiresAt, 'XX')
        .pexpire(this.userKey(record.userId), this.lifetime.idleMs)
        .exec());
    }
    return record;
  }

  async destroy(sessionId: string) {
    const raw = await this.call(() => this.redis.get(this.key(sessionId)));
    await this.call(() => this.redis.del(this.key(sessionId)));
    if (raw) await this.call(() => this.redis.srem(this.userKey((JSON.parse(raw) as SessionRecord).userId), sessionId));
  }

  async listForUser(userId: number) {
    const ids = await this.call(() => this.redis.smembers(this.userKey(userId)));
    if (!ids.length) return [];
    const values = await this.call(() => this.redis.mget(ids.map((id) => this.key(id))));
    const gone = ids.filter((_, i) => !values[i]);
    if (gone.length) await this.call(() => this.redis.srem(this.userKey(userId), ...gone));
    return values.filter((v): v is string => Boolean(v)).map((v) => JSON.parse(v) as SessionRecord).sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  }

  async destroyAllForUser(userId: number) {
    const ids = await this.call(() => this.redis.smembers(this.userKey(userId)));
    await this.call(() => this.redis.del(this.userKey(userId), ...ids.map((id) => this.key(id))));
    return ids;
  }

  async ping() {
    try {
      return (await this.call(() => this.redis.ping())) === 'PONG';
    } catch {
      return false;
    }
  }
}
