// Builds the admin Fastify app from its dependencies (no I/O at import time), so tests can start it
// against a real database with `app.inject()` or a real port.
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { acceptRequestId, type Logger } from '@parley/logging';
import type { Pool } from '@parley/db';
import { type AdminConfig, trustProxyValue } from './config.ts';
import type { SessionRecord, SessionStore } from './sessions/session-store.ts';
import { type User, UserRepository } from './features/users/user-repository.ts';
import { RoomRepository } from './features/rooms/room-repository.ts';
import type { ChatInternalClient } from './features/chat/chat-client.ts';
import type { AttemptLimiter } from './features/auth/attempt-limiter.ts';
import { sessionPlugin } from './plugins/session.ts';
import { errorPlugin } from './plugins/errors.ts';
import { type AdminMetrics, createAdminMetrics, metricsPlugin } from './plugins/metrics.ts';
import { tracingPlugin, tracingServerOptions } from './plugins/tracing.ts';
import { authRoutes } from './features/auth/routes.ts';
import { roomRoutes } from './features/rooms/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { chatTokenRoutes } from './features/chat/routes.ts';
import { profileRoutes } from './features/profile/routes.ts';
import { adminRoutes } from './features/admin/routes.ts';
import { AuditRepository } from './features/audit/audit-repository.ts';
import { requireRole } from './plugins/session.ts';
import type { Role } from './features/users/user-repository.ts';

declare module 'fastify' {
  interface FastifyRequest {
    session: SessionRecord | null;
    user: User | null;
  }
}

export interface AdminDeps {
  config: AdminConfig;
  log: Logger;
  pool: Pool;
  redis: Redis | null;
  sessions: SessionStore;
  chat: ChatInternalClient;
  loginFailures: AttemptLimiter;
  registry: Registry;
  /** Made on `registry` when not given (main passes its own: the session store records into it too). */
  metrics?: AdminMetrics;
}

export interface AdminServices extends AdminDeps {
  users: UserRepository;
  rooms: RoomRepository;
  audit: AuditRepository;
}

export interface RegisteredRoute {
  method: string;
  url: string;
  roles: Role[] | null;
}

const routeLists = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the app registered (method, url, declared roles): tests enumerate them for authorization. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return routeLists.get(app) ?? [];
}

/** Roles a route requires: its declaration, or admin for anything under /admin that declares none. */
export function rolesFor(url: string | undefined, declared: Role[] | undefined): Role[] | null {
  if (declared) return declared;
  if (url === '/admin' || url?.startsWith('/admin/')) return ['admin'];
  return null;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Static assets: apps/admin/public (CSS) and the built browser bundles (dist/public). */
function staticRoots(): string[] {
  const candidates = [resolve(here, '../public'), resolve(here, 'public'), resolve(here, '../dist/public')];
  return [...new Set(candidates.filter((dir) => existsSync(dir)))];
}

export async function buildApp(deps: AdminDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    trustProxy: trustProxyValue(config.TRUST_PROXY),
    requestIdHeader: false,
    genReqId: (req) => acceptRequestId(req.headers['x-request-id'], randomUUID),
    bodyLimit: 64 * 1024,
    ...tracingServerOptions(),
  });
  const services: AdminServices = { ...deps, users: new UserRepository(deps.pool), rooms: new RoomRepository(deps.pool), audit: new AuditRepository(deps.pool) };
  const routes: RegisteredRoute[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, roles: rolesFor(r.url, r.config?.roles) });
  });

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  await app.register(tracingPlugin);
  await app.register(metricsPlugin, { metrics: deps.metrics ?? createAdminMetrics(deps.registry) });

  const chatOrigin = config.CHAT_PUBLIC_URL ? new URL(config.CHAT_PUBLIC_URL).origin : null;
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...(chatOrigin ? [chatOrigin] : [])],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    // HSTS is the edge's job (it knows whether TLS is in front); keep the app correct over plain http.
    hsts: false,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(fastifyCookie, { secret: config.SESSION_SECRET });
  await app.register(fastifyFormbody);
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'parley_csrf',
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/' },
    getToken: (req) => {
      const body = req.body as Record<string, unknown> | undefined;
      const fromBody = body && typeof body._csrf === 'string' ? body._csrf : undefined;
      return fromBody ?? (req.headers['x-csrf-token'] as string | undefined);
    },
  });
  await app.register(fastifyRateLimit, {
    global: false,
    ...(deps.redis ? { redis: deps.redis, nameSpace: `${config.REDIS_KEY_PREFIX}rl:` } : {}),
  });
  await app.register(errorPlugin);
  await app.register(sessionPlugin, services);

  // Authorization, before CSRF and body parsing: the matched route's declared roles (never the raw URL,
  // so /%61dmin cannot slip past a prefix check).
  app.addHook('onRequest', (req, reply, done) => {
    const roles = rolesFor(req.routeOptions.url, req.routeOptions.config?.roles);
    if (!roles) return done();
    requireRole(...roles)(req, reply, done);
  });

  // CSRF on every state-changing request, before its handler runs (internal API uses its own token).
  app.addHook('preHandler', (req, reply, done) => {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (!unsafe || req.url.startsWith('/internal/')) return done();
    app.csrfProtection(req, reply, done);
  });

  await app.register(fastifyStatic, { root: staticRoots(), prefix: '/static/', decorateReply: false, maxAge: '1h' });

  await app.register(healthRoutes, services);
  await app.register(authRoutes, services);
  await app.register(roomRoutes, services);
  await app.register(chatTokenRoutes, services);
  await app.register(profileRoutes, services);
  await app.register(adminRoutes, services);
  return app;
}
