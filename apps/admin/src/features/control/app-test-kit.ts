// The admin app on a test database for app.inject() specs, and signed-in people with their CSRF token
// (as a browser would have them). Chat's internal URL points where nothing listens.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '@parley/logging';
import type { Pool } from '@parley/db';
import { buildApp } from '../../app.ts';
import { adminConfigSchema } from '../../config.ts';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { ChatInternalClient } from '../chat/chat-client.ts';
import { MemoryAttemptLimiter } from '../auth/attempt-limiter.ts';

export const TEST_SECRETS = { INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32) };

export async function testApp(pool: Pool, databaseUrl: string, sessions: SessionStore = new PgSessionStore(pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 })): Promise<FastifyInstance> {
  const config = adminConfigSchema.parse({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, CHAT_INTERNAL_URL: 'http://127.0.0.1:9', ...TEST_SECRETS });
  const app = await buildApp({
    config, log: createLogger('admin', 'silent'), pool, redis: null, sessions,
    chat: new ChatInternalClient(config.CHAT_INTERNAL_URL, config.INTERNAL_TOKEN, 300), loginFailures: new MemoryAttemptLimiter(60_000), registry: new Registry(),
  });
  await app.ready();
  return app;
}

export interface Browser {
  userId: number;
  sessionId: string;
  cookie: string;
  csrf: string;
}

/** A session for the user, and the CSRF token and cookie its pages carry. */
export async function signIn(app: FastifyInstance, sessions: SessionStore, userId: number): Promise<Browser> {
  const { cookieValue, record } = await sessions.create(userId, { ip: '127.0.0.1', userAgent: 'test' });
  const cookie = `parley_sid=${cookieValue}`;
  const page = await app.inject({ method: 'GET', url: '/rooms', headers: { cookie, accept: 'text/html' } });
  const csrfCookie = page.cookies.find((c) => c.name === 'parley_csrf')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { userId, sessionId: record.id, cookie: `${cookie}; parley_csrf=${csrfCookie.value}`, csrf };
}

export const postForm = (app: FastifyInstance, who: Browser, url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ _csrf: who.csrf, ...fields }).toString() });

export const postJson = (app: FastifyInstance, who: Browser, url: string, body: unknown): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/json', 'x-csrf-token': who.csrf }, payload: JSON.stringify(body) });
