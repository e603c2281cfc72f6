// Counts failed logins per account (and per IP) in a fixed window. Redis when configured (shared by all
// admin replicas), in memory otherwise (the embedded mode runs one admin process).
import type { Redis } from 'ioredis';

export interface AttemptLimiter {
  /** Record a failure; returns the number of failures in the current window. */
  fail(key: string): Promise<number>;
  /** Milliseconds until `key` may try again, or 0 when under `max`. */
  blockedFor(key: string, max: number): Promise<number>;
  reset(key: string): Promise<void>;
}

export class MemoryAttemptLimiter implements AttemptLimiter {
  private readonly entries = new Map<string, { count: number; resetAt: number }>();
  constructor(private readonly windowMs: number) {}

  async fail(key: string) {
    const now = Date.now();
    let entry = this.entries.get(key);
    if (!entry || entry.resetAt <= now) this.entries.set(key, (entry = { count: 0, resetAt: now + this.windowMs }));
    if (this.entries.size > 100_000) for (const [k, e] of this.entries) if (e.resetAt <= now) this.entries.delete(k);
    return ++entry.count;
  }

  async blockedFor(key: string, max: number) {
    const entry = this.entries.get(key);
    const now = Date.now();
    if (!entry || entry.resetAt <= now || entry.count < max) return 0;
    return entry.resetAt - now;
  }

  async reset(key: string) {
    this.entries.delete(key);
  }
}

export class RedisAttemptLimiter implements AttemptLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly windowMs: number) {}

  async fail(key: string) {
    const k = `${this.prefix}login-fail:${key}`;
    const [[, count]] = (await this.redis.multi().incr(k).pexpire(k, this.windowMs, 'NX').exec()) as [[unknown, number]];
    return count;
  }

  async blockedFor(key: string, max: number) {
    const k = `${this.prefix}login-fail:${key}`;
    const [[, count], [, ttl]] = (await this.redis.multi().get(k).pttl(k).exec()) as [[unknown, string | null], [unknown, number]];
    return Number(count ?? 0) >= max ? Math.max(ttl, 1000) : 0;
  }

  async reset(key: string) {
    await this.redis.del(`${this.prefix}login-fail:${key}`);
  }
}
