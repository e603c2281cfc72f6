import type { Redis } from 'ioredis';
import { type SessionMeta, type SessionRecord, type SessionStore, TOUCH_INTERVAL_MS, isPlausibleCookie, newCookieValue, sessionIdOf } from './session-store.ts';

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ttlMs: number) {}

  private key(id: string) {
    return `${this.prefix}sess:${id}`;
  }

  private userKey(userId: number) {
    return `${this.prefix}user-sess:${userId}`;
  }

  async create(userId: number, meta: SessionMeta) {
    const cookieValue = newCookieValue();
    const now = Date.now();
    const record: SessionRecord = { id: sessionIdOf(cookieValue), userId, createdAt: now, lastSeenAt: now, expiresAt: now + this.ttlMs, ...meta };
    await this.redis.multi()
      .set(this.key(record.id), JSON.stringify(record), 'PX', this.ttlMs)
      .sadd(this.userKey(userId), record.id)
      .pexpire(this.userKey(userId), this.ttlMs)
      .exec();
    return { cookieValue, record };
  }

  async get(cookieValue: string, meta?: SessionMeta) {
    if (!isPlausibleCookie(cookieValue)) return null;
    const id = sessionIdOf(cookieValue);
    const raw = await this.redis.get(this.key(id));
    if (!raw) return null;
    const record = JSON.parse(raw) as SessionRecord;
    const now = Date.now();
    if (now - record.lastSeenAt > TOUCH_INTERVAL_MS) {
      record.lastSeenAt = now;
      record.expiresAt = now + this.ttlMs;
      if (meta) Object.assign(record, meta);
      await this.redis.multi()
        .set(this.key(id), JSON.stringify(record), 'PX', this.ttlMs, 'XX')
        .pexpire(this.userKey(record.userId), this.ttlMs)
        .exec();
    }
    return record;
  }

  async destroy(sessionId: string) {
    const raw = await this.redis.get(this.key(sessionId));
    await this.redis.del(this.key(sessionId));
    if (raw) await this.redis.srem(this.userKey((JSON.parse(raw) as SessionRecord).userId), sessionId);
  }

  async listForUser(userId: number) {
    const ids = await this.redis.smembers(this.userKey(userId));
    if (!ids.length) return [];
    const values = await this.redis.mget(ids.map((id) => this.key(id)));
    const gone = ids.filter((_, i) => !values[i]);
    if (gone.length) await this.redis.srem(this.userKey(userId), ...gone);
    return values.filter((v): v is string => Boolean(v)).map((v) => JSON.parse(v) as SessionRecord).sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  }

  async destroyAllForUser(userId: number) {
    const ids = await this.redis.smembers(this.userKey(userId));
    await this.redis.del(this.userKey(userId), ...ids.map((id) => this.key(id)));
    return ids;
  }

  async ping() {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}
