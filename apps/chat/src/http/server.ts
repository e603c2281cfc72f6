// The chat HTTP server: health, metrics, the internal API (stats, control-plane doorbell), and the
// WebSocket upgrade (which refuses inactive users, revoked sessions and stale roles).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { acceptRequestId, type Logger } from '@parley/logging';
import { verifyChatToken } from '@parley/chat-token';
import { CloseCode, SOCKET_PATH, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import type { Hub } from '../hub/hub.ts';
import type { SessionChecker } from '../hub/session-checks.ts';
import { context, endServerSpan, httpLabels, startServerSpan, tracingEnabled } from '@parley/telemetry';
import type { ChatMetrics, UpgradeOutcome } from '../metrics.ts';

export interface ServerDeps {
  hub: Hub;
  log: Logger;
  registry: Registry;
  metrics: ChatMetrics;
  internalToken: string;
  chatTokenSecret: string;
  allowedOrigins: Set<string>;
  maxFrameBytes: number;
  /** Checks of this replica's dependencies for /readyz. */
  readiness: () => Promise<Record<string, boolean>>;
  /** Is the token's session still good (user active, same role, not revoked)? */
  sessions: SessionChecker;
}

/** Most bytes read from an internal API request body; more answers 413. */
const MAX_INTERNAL_BODY = 16 * 1024;

export function createChatServer(deps: ServerDeps) {
  const { hub, log } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    // Frames above MAX_FRAME_BYTES get a too_large error and the socket lives on (see Hub.onFrame);
    // only absurd frames, above this hard cap, close it with 1009 before being buffered.
    maxPayload: hardFrameCap(deps.maxFrameBytes),
    perMessageDeflate: false, // CPU per delivery matters more than bytes on the wire here
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  let acceptingUpgrades = true;

  const server = createServer((req, res) => {
    const reqId = acceptRequestId(req.headers['x-request-id'], randomUUID);
    res.setHeader('x-request-id', reqId);
    const traced = tracingEnabled() ? startServerSpan(`${req.method} ${routeTemplate(req.url)}`, req.headers, { 'http.route': routeTemplate(req.url), 'parley.request_id': reqId }) : null;
    observeHttp(req, res, reqId, traced?.traceId);
    if (traced) res.once('finish', () => endServerSpan(traced.span, res.statusCode));
    // Inside the span's context: every log line of the request carries trace_id (the logger's mixin).
    if (traced) void context.with(traced.ctx, () => handle(req, res, reqId));
    else void handle(req, res, reqId);
  });
  server.keepAliveTimeout = 65_000; // longer than typical LB idle timeouts

  function handle(req: IncomingMessage, res: ServerResponse, reqId: string): Promise<void> {
    return handleHttp(req, res).catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) {
        if (!res.headersSent) json(res, 413, { error: `request body larger than ${err.limit} bytes`, requestId: reqId });
        req.resume(); // drain what is left; the connection closes after the answer
        return;
      }
      log.error({ err, reqId, url: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error', requestId: reqId });
    });
  }

  /** RED histogram by route template and an access log line (probes and scrapes only at debug). */
  function observeHttp(req: IncomingMessage, res: ServerResponse, reqId: string, traceId?: string): void {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplate(req.url);
      deps.metrics.http.observe(httpLabels(route, req.method, res.statusCode), seconds);
      const line = { reqId, ...(traceId ? { trace_id: traceId } : {}), method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 };
      if (route === '/healthz' || route === '/readyz' || route === '/metrics') log.debug(line, 'http request');
      else log.info(line, 'http request');
    });
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://chat');
    if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/readyz') {
      const checks = await deps.readiness();
      // The fan-out is reported but does not gate readiness: without it chat still works (every replica
      // reconciles from Postgres), and failing every replica's probe on a Redis blip would be an outage.
      const ready = Object.entries(checks).every(([name, ok]) => ok || name === 'fanout');
      return json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': deps.registry.contentType });
      res.end(await deps.registry.metrics());
      return;
    }
    if (url.pathname.startsWith('/internal/')) {
      if (!internalAuthorized(req)) return json(res, 401, { error: 'missing or wrong X-Internal-Token' });
      if (req.method === 'GET' && url.pathname === '/internal/stats') return json(res, 200, hub.stats());
      if (req.method === 'POST' && url.pathname === '/internal/control/poke') {
        // A doorbell for the control plane (admin may ring it after committing events); the events
        // themselves are read from Postgres, so the body carries nothing and is only size-checked.
        await readBody(req, MAX_INTERNAL_BODY);
        hub.control.poke();
        return json(res, 202, { ok: true });
      }
    }
    json(res, 404, { error: 'not found' });
  }

  function internalAuthorized(req: IncomingMessage): boolean {
    const given = Buffer.from(String(req.headers['x-internal-token'] ?? ''));
    const expected = Buffer.from(deps.internalToken);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const reqId = acceptRequestId(req.headers['x-request-id'], randomUUID);
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head, reqId).catch((err) => {
      log.error({ err, reqId }, 'upgrade failed');
      deps.metrics.upgrades.inc({ outcome: 'error' });
      refuse(socket, 500, 'internal error', reqId);
    });
  });

  function refuseUpgrade(outcome: UpgradeOutcome, socket: Duplex, status: number, message: string, reqId: string): void {
    deps.metrics.upgrades.inc({ outcome });
    refuse(socket, status, message, reqId);
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, reqId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://chat');
    if (url.pathname !== SOCKET_PATH) return refuseUpgrade('not_found', socket, 404, 'not found', reqId);
    if (!acceptingUpgrades || hub.draining) return refuseUpgrade('draining', socket, 503, 'server is restarting; reconnect', reqId);
    // Until the control plane knows its cursor, a socket could miss a ban committed meanwhile.
    if (!hub.control.ready) return refuseUpgrade('starting', socket, 503, 'server is starting; reconnect', reqId);
    const origin = req.headers.origin;
    if (origin !== undefined && !deps.allowedOrigins.has(origin)) {
      log.warn({ reqId, origin }, 'websocket refused: foreign origin');
      return refuseUpgrade('forbidden_origin', socket, 403, 'origin not allowed', reqId);
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    if (!offered.includes(SUBPROTOCOL)) return refuseUpgrade('bad_subprotocol', socket, 400, `offer the ${SUBPROTOCOL} subprotocol`, reqId);
    if (!token) return refuseUpgrade('unauthenticated', socket, 401, 'authentication required', reqId);
    const verified = verifyChatToken(token, deps.chatTokenSecret);
    if (!verified.ok) {
      log.info({ reqId, reason: verified.reason }, 'websocket refused: bad token');
      return refuseUpgrade('bad_token', socket, 401, `authentication failed (${verified.reason})`, reqId);
    }
    const { uid, sid, role } = verified.claims;
    if (hub.coolingDown(uid)) return refuseUpgrade('cooldown', socket, 429, 'too many frames lately; reconnect later', reqId);
    let verdict;
    try {
      verdict = await deps.sessions.check({ uid, sid, role });
    } catch (err) {
      log.warn({ reqId, err: (err as Error).message }, 'websocket refused: session check failed');
      return refuseUpgrade('error', socket, 503, 'service unavailable; reconnect', reqId);
    }
    if (verdict !== 'ok') {
      log.info({ reqId, userId: uid, verdict }, 'websocket refused: session not valid');
      return refuseUpgrade('revoked', socket, 401, verdict === 'role_changed' ? 'role changed; get a new token' : 'session revoked', reqId);
    }
    if (hub.atSocketLimit(uid)) {
      log.info({ reqId, userId: uid }, 'websocket refused: too many sockets for this user');
      return refuseUpgrade('too_many_connections', socket, 429, 'too many connections for this user', reqId);
    }
    // One write for the 101 answer and the hello frame, not two (ws writes both synchronously).
    socket.cork();
    wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        // Concurrent upgrades of one user passed the check above together: the limit holds here.
        if (hub.atSocketLimit(uid)) return ws.close(CloseCode.TooManyConnections, 'too many connections for this user');
        deps.metrics.upgrades.inc({ outcome: 'accepted' });
        hub.attach(ws, verified.claims, reqId);
      } finally {
        socket.uncork();
      }
    });
  }

  return {
    server,
    wss,
    stopAcceptingUpgrades: () => {
      acceptingUpgrades = false;
    },
  };
}

const KNOWN_INTERNAL_ROUTES = new Set(['/internal/stats', '/internal/control/poke']);

/** The route template of a chat HTTP path: a fixed set, so labels stay bounded. */
export function routeTemplate(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0]!;
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path;
  if (path === '/socket') return '/socket';
  if (KNOWN_INTERNAL_ROUTES.has(path)) return path;
  return 'other';
}

/** The socket-level frame cap: well above MAX_FRAME_BYTES, so oversized frames get an error, not a close. */
export function hardFrameCap(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes * 4, 64 * 1024);
}

function refuse(socket: Duplex, status: number, message: string, reqId: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: message, requestId: reqId });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${reqId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super('body too large');
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
