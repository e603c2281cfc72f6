// The WebSocket upgrade on chat's HTTP server (raw `ws`, not Fastify): refuses foreign origins, missing
// or bad tokens, inactive users, revoked sessions and stale roles, and upgrades while draining or
// starting, each with a plain HTTP answer and a counted outcome.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { acceptRequestId, type Logger } from '@parley/logging';
import { verifyChatToken } from '@parley/chat-token';
import { CloseCode, SOCKET_PATH, SUBPROTOCOL, SUBPROTOCOL_V2, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import type { Hub } from '../hub/hub.ts';
import type { SessionChecker } from '../hub/session-checks.ts';
import type { ChatMetrics, UpgradeOutcome } from '../metrics.ts';

/** What the upgrade needs of the hub. */
export type UpgradeHub = Pick<Hub, 'draining' | 'coolingDown' | 'atSocketLimit' | 'attach' | 'sessionCheckMark'> & { readonly control: Pick<Hub['control'], 'ready'> };

export interface UpgradeDeps {
  hub: UpgradeHub;
  log: Logger;
  metrics: Pick<ChatMetrics, 'upgrades'>;
  chatTokenSecret: string;
  allowedOrigins: Set<string>;
  maxFrameBytes: number;
  sessions: SessionChecker;
}

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The 'upgrade' listener for the HTTP server, its WebSocketServer, and the switch drain turns off. */
export function createUpgradeHandler(deps: UpgradeDeps): { onUpgrade: UpgradeListener; wss: WebSocketServer; stopAccepting: () => void } {
  const { hub, log } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    // Frames above MAX_FRAME_BYTES get a too_large error and the socket lives on (see Hub.onFrame);
    // only absurd frames, above this hard cap, close it with 1009 before being buffered.
    maxPayload: hardFrameCap(deps.maxFrameBytes),
    // Off: ws would deflate every frame once per socket (no more "encode once per room"); the lean v2
    // frames get most of the bytes back for no CPU (docs/protocol.md, "Version 2").
    perMessageDeflate: false,
    // Version 2 when offered; the connection reads the choice from ws.protocol.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL_V2) ? SUBPROTOCOL_V2 : protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  let acceptingUpgrades = true;

  const onUpgrade: UpgradeListener = (req, socket, head) => {
    const reqId = acceptRequestId(req.headers['x-request-id'], randomUUID);
    socket.on('error', destroySocket);
    upgrade(req, socket, head, reqId).catch((err: unknown) => {
      log.error({ err, reqId }, 'upgrade failed');
      deps.metrics.upgrades.inc({ outcome: 'error' });
      refuse(socket, 500, 'internal error', reqId);
    });
  };

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
    if (!offered.includes(SUBPROTOCOL) && !offered.includes(SUBPROTOCOL_V2)) return refuseUpgrade('bad_subprotocol', socket, 400, `offer the ${SUBPROTOCOL_V2} or ${SUBPROTOCOL} subprotocol`, reqId);
    if (!token) return refuseUpgrade('unauthenticated', socket, 401, 'authentication required', reqId);
    const verified = verifyChatToken(token, deps.chatTokenSecret);
    if (!verified.ok) {
      log.info({ reqId, reason: verified.reason }, 'websocket refused: bad token');
      return refuseUpgrade('bad_token', socket, 401, `authentication failed (${verified.reason})`, reqId);
    }
    const { uid, sid, role } = verified.claims;
    if (hub.coolingDown(uid)) return refuseUpgrade('cooldown', socket, 429, 'too many frames lately; reconnect later', reqId);
    // Changes to sessions applied from here on, until the socket is attached, make the hub check it again.
    const checkBegan = hub.sessionCheckMark();
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
        hub.attach(ws, verified.claims, reqId, socket, checkBegan);
      } finally {
        socket.uncork();
      }
    });
  }

  return {
    onUpgrade,
    wss,
    stopAccepting() {
      acceptingUpgrades = false;
    },
  };
}

/** One listener for every upgrading socket (not a closure per socket that would keep its request id). */
function destroySocket(this: Duplex): void {
  this.destroy();
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
