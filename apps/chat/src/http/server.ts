// The chat HTTP server: one node:http server for Fastify (health, readiness, metrics, the internal API)
// and for the raw `ws` WebSocket upgrade on /socket (upgrade.ts), which never passes through Fastify.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { acceptRequestId, type Logger } from '@parley/logging';
import type { SessionChecker } from '../hub/session-checks.ts';
import type { ChatMetrics } from '../metrics.ts';
import { installErrorPolicy } from './errors.ts';
import { internalRoutes, MAX_INTERNAL_BODY, type InternalHub } from './internal-routes.ts';
import { observeRequests } from './observe.ts';
import { probeRoutes } from './routes.ts';
import { createUpgradeHandler, type UpgradeHub } from './upgrade.ts';

export { hardFrameCap } from './upgrade.ts';

export type ChatHttpHub = UpgradeHub & InternalHub & { readonly control: UpgradeHub['control'] & InternalHub['control'] };

export interface ServerDeps {
  hub: ChatHttpHub;
  log: Logger;
  registry: Registry;
  metrics: Pick<ChatMetrics, 'http' | 'upgrades'>;
  internalToken: string;
  chatTokenSecret: string;
  allowedOrigins: Set<string>;
  maxFrameBytes: number;
  /** Checks of this replica's dependencies for /readyz. */
  readiness: () => Promise<Record<string, boolean>>;
  /** Is the token's session still good (user active, same role, not revoked)? */
  sessions: SessionChecker;
}

export interface ChatServer {
  app: FastifyInstance;
  server: Server;
  wss: WebSocketServer;
  /** Drain: refuse every upgrade from now on (HTTP keeps answering, /readyz says not ready). */
  stopAcceptingUpgrades: () => void;
}

/** Builds the server, ready to `listen` (no port is opened here). */
export async function createChatServer(deps: ServerDeps): Promise<ChatServer> {
  const logger: FastifyBaseLogger = deps.log; // widened, so the app is a plain FastifyInstance
  const app = Fastify({
    loggerInstance: logger,
    // observe.ts writes one access line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // The edge's X-Request-Id when it looks sane, else a new one (the same rule as the upgrade).
    requestIdHeader: false,
    genReqId: (req) => acceptRequestId(req.headers['x-request-id'], randomUUID),
    bodyLimit: MAX_INTERNAL_BODY,
    keepAliveTimeout: 65_000, // longer than typical LB idle timeouts
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  observeRequests(app, deps.metrics.http);
  installErrorPolicy(app);
  probeRoutes(app, deps);
  internalRoutes(app, deps);

  const upgrades = createUpgradeHandler(deps);
  app.server.on('upgrade', upgrades.onUpgrade);
  await app.ready();
  return { app, server: app.server, wss: upgrades.wss, stopAcceptingUpgrades: upgrades.stopAccepting };
}
