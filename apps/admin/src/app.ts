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
import { cookiePolicy, sessionPlugin } from './plugins/session.ts';
import { abuseLimits } from './features/auth/abuse-limits.ts';
import { errorPlugin } from './plugins/errors.ts';
import { type AdminMetrics, createAdminMetrics, metricsPlugin } from './plugins/metrics.ts';
import { tracingPlugin, tracingServerOptions } from './plugins/tracing.ts';
import { authRoutes } from './features/auth/routes.ts';
import { roomRoutes } from './features/rooms/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { chatTokenRoutes } from './features/chat/routes.ts';
import { profileRoutes } from './features/profile/routes.ts';
import { adminRoutes } from './features/admin/routes.ts';
import { conversationRoutes } from './features/conversations/routes.ts';
import { searchRoutes } from './features/search/routes.ts';
import { AuditRepository } from './features/audit/audit-repository.ts';
import { SessionRevoker } from './features/account/session-revoker.ts';
import { AccountService } from './features/account/service.ts';
import { UserService } from './features/users/service.ts';
import { RoomService } from './features/rooms/service.ts';
import { ModerationService } from './features/moderation/service.ts';
import { startControlEventPruner } from './features/control/retention.ts';
import { AttachmentRepository } from './features/attachments/attachment-repository.ts';
import { AttachmentService } from './features/attachments/service.ts';
import { attachmentRoutes } from './features/attachments/routes.ts';
import { startAttachmentSweeper } from './features/attachments/sweeper.ts';
import { objectStoreFromConfig, storeBrowserOrigins } from './features/attachments/storage/from-config.ts';
import { directUploadWarnings } from './features/attachments/storage/upload-warnings.ts';
import type { ObjectStore } from './features/attachments/storage/storage.ts';
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
  /** Where attachments are kept; made from the configuration when not given. */
  storage?: ObjectStore;
}

export interface AdminServices extends AdminDeps {
  users: UserRepository;
  rooms: RoomRepository;
  audit: AuditRepository;
  /** State changes: each commits with its audit entry and control events in one transaction. */
  account: AccountService;
  userAdmin: UserService;
  roomService: RoomService;
  moderation: ModerationService;
  attachments: AttachmentRepository;
  attachmentService: AttachmentService;
  storage: ObjectStore;
}

function buildServices(deps: AdminDeps): AdminServices {
  const users = new UserRepository(deps.pool);
  const rooms = new RoomRepository(deps.pool);
  const audit = new AuditRepository(deps.pool);
  const revoker = new SessionRevoker(deps.pool, deps.sessions);
  const attachments = new AttachmentRepository(deps.pool);
  const storage = deps.storage ?? objectStoreFromConfig(deps.config);
  const c = deps.config;
  return {
    ...deps, users, rooms, audit, attachments, storage,
    account: new AccountService({ pool: deps.pool, users, audit, revoker }),
    userAdmin: new UserService({ pool: deps.pool, users, audit, revoker }),
    roomService: new RoomService({ pool: deps.pool, rooms, audit }),
    moderation: new ModerationService({ pool: deps.pool, rooms, audit, attachments }),
    attachmentService: new AttachmentService({
      rooms, attachments, store: storage, maxBytes: c.ATTACHMENT_MAX_BYTES, urlTtlSeconds: c.ATTACHMENT_URL_TTL_SECONDS,
      presignedUploads: c.S3_PRESIGNED_UPLOADS, presignedDownloads: c.S3_PRESIGNED_DOWNLOADS, log: deps.log,
    }),
  };
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

// The panel uses none of these browser features; deny them to the page and to anything it could embed.
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()';

/** Fastify's request log fields, with the URL cut at "?". */
export function requestLogFields(req: { method?: string; url?: string; ip?: string }) {
  return { method: req.method, path: (req.url ?? '').split('?')[0], remoteAddress: req.ip };
}

/** Static assets: apps/admin/public (CSS) and the built browser bundles (dist/public). */
function staticRoots(): string[] {
  const candidates = [resolve(here, '../public'), resolve(here, 'public'), resolve(here, '../dist/public')];
  return [...new Set(candidates.filter((dir) => existsSync(dir)))];
}

export async function buildApp(deps: AdminDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    // Request logs carry the path only: query strings can hold tokens, e-mails or search terms.
    // The type is the same, but the assertion makes Fastify infer its base logger type (a pino Logger
    // would make `app` no longer a plain FastifyInstance).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.log.child({}, { serializers: { req: requestLogFields } }) as FastifyBaseLogger,
    trustProxy: trustProxyValue(config.TRUST_PROXY),
    requestIdHeader: false,
    genReqId: (req) => acceptRequestId(req.headers['x-request-id'], randomUUID),
    bodyLimit: 64 * 1024,
    ...tracingServerOptions(),
  });
  const services = buildServices(deps);
  const routes: RegisteredRoute[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, roles: rolesFor(r.url, r.config?.roles) });
  });

  app.decorate('cookiePolicy', cookiePolicy(config));

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('permissions-policy', PERMISSIONS_POLICY);
    // Pages for a signed-in person (and every form page, which embeds a CSRF token) must not be kept
    // by the browser or a shared cache: after logout, Back must not show them.
    const type = String(reply.getHeader('content-type') ?? '');
    if (!reply.hasHeader('cache-control') && (req.user || type.startsWith('text/html'))) reply.header('cache-control', 'no-store');
  });
  await app.register(tracingPlugin);
  await app.register(metricsPlugin, { metrics: deps.metrics ?? createAdminMetrics(deps.registry) });

  const chatOrigin = config.CHAT_PUBLIC_URL ? new URL(config.CHAT_PUBLIC_URL).origin : null;
  // The bucket's origin only when pages talk to it (S3 store with presigned uploads or downloads).
  const store = await storeBrowserOrigins(config);
  for (const warning of directUploadWarnings(config, store.upload)) deps.log.warn({ uploadOrigin: store.upload }, warning);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', ...(store.download ? [store.download] : [])],
        connectSrc: ["'self'", ...(chatOrigin ? [chatOrigin] : []), ...(store.upload ? [store.upload] : [])],
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
    cookieKey: app.cookiePolicy.csrf,
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure: app.cookiePolicy.secure },
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
  // Control events are kept CONTROL_EVENT_RETENTION_HOURS (far beyond chat's poll interval and token
  // lifetime), then pruned; every admin instance may prune (the DELETE is idempotent).
  const pruner = startControlEventPruner(deps.pool, deps.log, { retentionMs: config.CONTROL_EVENT_RETENTION_HOURS * 3600_000, everyMs: 15 * 60_000 });
  app.addHook('onClose', async () => pruner.stop());
  // Objects of deleted attachments leave the store shortly after their rows are marked (any replica).
  const sweeper = startAttachmentSweeper(services.attachments, services.storage, deps.log, {
    unsentMs: config.ATTACHMENT_UNSENT_HOURS * 3600_000, uploadUrlMs: config.ATTACHMENT_URL_TTL_SECONDS * 1000, everyMs: 60_000,
  });
  app.addHook('onClose', async () => sweeper.stop());
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

  // Budgets for login, sign-up, room and DM creation and password change (after CSRF: forged posts cost nothing).
  await app.register(abuseLimits, services);

  await app.register(fastifyStatic, { root: staticRoots(), prefix: '/static/', decorateReply: false, maxAge: '1h' });
  // Pages link /static/favicon.svg; this answers browsers and tools that ask for the old default path.
  app.get('/favicon.ico', { logLevel: 'warn' }, async (_req, reply) => reply.redirect('/static/favicon.svg', 301));

  await app.register(healthRoutes, services);
  await app.register(authRoutes, services);
  await app.register(roomRoutes, services);
  await app.register(chatTokenRoutes, services);
  await app.register(profileRoutes, services);
  await app.register(adminRoutes, services);
  await app.register(conversationRoutes, services);
  await app.register(searchRoutes, services);
  await app.register(attachmentRoutes, services);
  return app;
}
