// For integration specs: a browser-like client over app.inject() (cookie jar, CSRF token from the
// page's form, a client IP given as X-Forwarded-For with TRUST_PROXY=127.0.0.1), and a helper that
// builds the admin app on a real Postgres (and Redis when given) with config overrides.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createLogger } from '@parley/logging';
import type { Pool } from '@parley/db';
import { buildApp } from '../app.ts';
import { adminConfigSchema } from '../config.ts';
import { PgSessionStore } from '../sessions/pg-store.ts';
import { RedisSessionStore } from '../sessions/redis-store.ts';
import { sessionLifetimeOf } from '../sessions/session-store.ts';
import { ChatInternalClient } from '../features/chat/chat-client.ts';
import { MemoryAttemptLimiter, RedisAttemptLimiter } from '../features/auth/attempt-limiter.ts';

export class InjectClient {
  readonly cookies = new Map<string, string>();
  constructor(private readonly app: FastifyInstance, readonly ip = '127.0.0.1') {}

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method,
      url,
      headers: {
        accept: 'text/html',
        'x-forwarded-for': this.ip,
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of res.cookies) {
      if (c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  /** POST a form with the CSRF token of the form page `csrfFrom` (default: the same path). */
  async post(path: string, fields: Record<string, string>, csrfFrom = path): Promise<LightMyRequestResponse> {
    const page = await this.request('GET', csrfFrom);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no CSRF token on ${csrfFrom} (HTTP ${page.statusCode})`);
    return this.request('POST', path, { ...fields, _csrf: token });
  }

  logIn(email: string, password: string) {
    return this.post('/login', { email, password }, '/login');
  }
}

export interface TestAppOptions {
  pool: Pool;
  databaseUrl: string;
  redis?: Redis | null;
  redisPrefix?: string;
  env?: Record<string, string>;
  /** Collects the app's JSON log lines. */
  logLines?: string[];
}

export async function buildTestApp(opts: TestAppOptions): Promise<FastifyInstance> {
  const config = adminConfigSchema.parse({
    NODE_ENV: 'test', DATABASE_URL: opts.databaseUrl, INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32),
    CHAT_INTERNAL_URL: 'http://127.0.0.1:9', // nothing listens: chat calls fail fast
    TRUST_PROXY: '127.0.0.1',
    ...(opts.redisPrefix ? { REDIS_KEY_PREFIX: opts.redisPrefix } : {}),
    ...opts.env,
  });
  const lifetime = sessionLifetimeOf(config);
  const redis = opts.redis ?? null;
  const lines = opts.logLines;
  const log = lines
    ? pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }))
    : createLogger('admin', 'silent');
  const app = await buildApp({
    config, log, pool: opts.pool, redis,
    sessions: redis ? new RedisSessionStore(redis, config.REDIS_KEY_PREFIX, lifetime) : new PgSessionStore(opts.pool, lifetime),
    chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN, 300),
    loginFailures: redis ? new RedisAttemptLimiter(redis, config.REDIS_KEY_PREFIX, 15 * 60_000) : new MemoryAttemptLimiter(15 * 60_000),
    registry: new Registry(),
  });
  await app.ready();
  return app;
}

let counter = 0;
export function person(label: string) {
  const handle = `${label}_${Date.now().toString(36)}${(counter++).toString(36)}`.slice(0, 32);
  return { email: `${handle}@example.test`, handle, displayName: `${label} person`, password: 'correct horse battery staple' };
}
