// The chat hub of one replica: owns the connections and wires the parts that serve them. Each part is
// one file: connection.ts (a socket), frame-router.ts (frame validation and dispatch),
// subscriptions.ts (rooms, join/replay/leave), message-commands.ts (send/edit/delete/history/typing/
// read), cluster-bridge.ts (the bus between replicas), control-plane.ts + control-applier.ts (control
// events from Postgres, in id order), presence-glue.ts and replica-stats.ts.
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '@parley/logging';
import type { ChatTokenClaims } from '@parley/chat-token';
import { type ErrorCode as ErrorCodeT, CloseCode, ErrorCode, PROTOCOL_VERSION } from '@parley/protocol';
import type { Bus } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import { ClusterBridge } from './cluster-bridge.ts';
import { Connection, type ConnectionHost, type ErrorExtra, FrameLane } from './connection.ts';
import { ControlApplier } from './control-applier.ts';
import { ControlPlane } from './control-plane.ts';
import type { ControlStore } from './control-store.ts';
import type { SessionChecker, SessionKey, SessionVerdict } from './session-checks.ts';
import { CachedSessionChecks } from './session-cache.ts';
import { FrameBudget } from './frame-budget.ts';
import { FrameRouter } from './frame-router.ts';
import { MessageCommands } from './message-commands.ts';
import { PresenceGlue } from './presence-glue.ts';
import type { Presence } from './presence.ts';
import { type HubCounters, ReplicaStats } from './replica-stats.ts';
import { Subscriptions } from './subscriptions.ts';
import type { HubMetrics } from '../metrics.ts';

export { Connection } from './connection.ts';

/** After a socket is closed for flooding, its user's upgrades to this replica are refused this long. */
export const ABUSE_COOLDOWN_MS = 10_000;

export interface HubOptions {
  replicaId: string;
  maxMessageBytes: number;
  /** Frames above this size get a too_large error (the socket's hard cap, which closes with 1009, is higher). */
  maxFrameBytes?: number;
  maxBufferedBytes: number;
  sendRatePerSec: number;
  sendBurst: number;
  heartbeatMs: number;
  presenceTtlMs: number;
  historyPageSize: number;
  /** Period of the control-event poll (doorbells make it sooner). */
  controlPollMs?: number;
  /** Period of the re-validation of every connected session against Postgres. */
  revalidateMs?: number;
  /** Per-user budget over every frame type (see FrameBudget); defaults 20/s, burst 600. */
  frameRatePerSec?: number;
  frameBurst?: number;
  /** Most sockets of one user on this replica (default 20). */
  maxSocketsPerUser?: number;
  /** Most rooms joined by one socket (default 500). */
  maxRoomsPerSocket?: number;
  /** Period of the room reconcile against Postgres, which repairs events lost by pub/sub. */
  reconcileMs?: number;
}

export class Hub implements ConnectionHost {
  readonly connections = new Map<string, Connection>();
  /** The same connections by user (control events and limits address users). */
  private readonly byUser = new Map<number, Set<Connection>>();
  /** Each connected user's frame queue, shared by their sockets here. */
  private readonly lanes = new Map<number, FrameLane>();
  private readonly timers: NodeJS.Timeout[] = [];
  draining = false;
  private readonly replicaStats: ReplicaStats;
  private readonly presenceGlue: PresenceGlue;
  private readonly subscriptions: Subscriptions;
  private readonly bridge: ClusterBridge;
  private readonly commands: MessageCommands;
  private readonly router: FrameRouter;
  private readonly metrics: HubMetrics | undefined;
  private readonly frameBudget: FrameBudget;
  /** Users whose upgrades are refused until then (a socket of theirs was closed for abuse). */
  private readonly cooldowns = new Map<number, number>();
  readonly control: ControlPlane;
  private readonly sessions: SessionChecker;
  /** The checks of new upgrades: good sessions cached, forgotten by control events (see session-cache.ts). */
  readonly upgradeSessions: CachedSessionChecks;
  private revalidating = false;
  private revalidationFailing = false;
  /** Each socket's connection, so one set of socket listeners serves every socket (no closures per socket). */
  private readonly connOf = new WeakMap<WebSocket, Connection>();
  private readonly socketListeners = socketListeners(this.connOf, this);

  constructor(
    readonly options: HubOptions,
    private readonly messages: MessageRepository,
    bus: Bus,
    readonly log: Logger,
    { control: controlStore, sessions }: { control: ControlStore; sessions: SessionChecker },
    metrics?: HubMetrics,
  ) {
    this.metrics = metrics;
    this.sessions = sessions;
    this.frameBudget = new FrameBudget(options.frameRatePerSec ?? 20, options.frameBurst ?? 600);
    const { replicaId } = options;
    const reject = (conn: Connection, code: ErrorCodeT, message: string, extra?: ErrorExtra) => this.reject(conn, code, message, extra);
    this.replicaStats = new ReplicaStats(replicaId, () => ({ connections: this.connections.size, rooms: this.subscriptions.roomCount, draining: this.draining }));
    const counters = this.replicaStats.counters;
    this.presenceGlue = new PresenceGlue(replicaId, options.presenceTtlMs, (room) => this.subscriptions.room(room), (event) => void this.bridge.publish(event));
    this.subscriptions = new Subscriptions({ messages, historyPageSize: options.historyPageSize, maxRoomsPerSocket: options.maxRoomsPerSocket ?? 500, presence: this.presenceGlue, counters, reject, log, metrics,
      roomOpened: (room) => bus.watchRoom(room), roomClosed: (room) => bus.unwatchRoom(room),
    });
    this.bridge = new ClusterBridge(replicaId, bus, this.subscriptions, messages, counters, log);
    this.commands = new MessageCommands({ options, messages, subscriptions: this.subscriptions, stats: this.replicaStats, publish: (e) => this.bridge.publish(e), reject, log, metrics });
    const applier = new ControlApplier({
      store: controlStore, messages, subscriptions: this.subscriptions, commands: this.commands,
      userConnections: (uid) => this.byUser.get(uid) ?? [], allConnections: () => this.connections.values(), log,
      sessionsChanged: (change) => this.upgradeSessions.forget(change),
    });
    this.control = new ControlPlane(controlStore, applier, options.controlPollMs ?? 500, log);
    this.upgradeSessions = new CachedSessionChecks(sessions, () => this.control.caughtUpSinceNow());
    this.router = new FrameRouter({ maxFrameBytes: options.maxFrameBytes, subscriptions: this.subscriptions, commands: this.commands, reject, metrics });
    this.bridge.listen({
      typing: (e) => this.commands.deliverTyping(e),
      presence: (e) => this.presenceGlue.applyRemote(e),
      presenceDiff: (e) => this.presenceGlue.applyRemoteDiff(e),
      replica: (e) => this.replicaStats.peerAnnounced(e),
      sync: () => {
        this.presenceGlue.announce(true);
        this.announceReplica();
      },
      bye: (replica) => {
        this.replicaStats.peerLeft(replica);
        this.presenceGlue.dropReplica(replica);
      },
      resubscribed: () => {
        this.control.poke(); // a doorbell may have been missed
        void this.bridge.publish({ k: 'sync', from: replicaId });
        this.presenceGlue.announce(true);
      },
    });
  }

  get counters(): HubCounters {
    return this.replicaStats.counters;
  }

  get presence(): Presence {
    return this.presenceGlue.presence;
  }

  get maxBufferedBytes(): number {
    return this.options.maxBufferedBytes;
  }

  slowConsumerClosed(): void {
    this.counters.slowConsumersClosed++;
  }

  start(): void {
    const { heartbeatMs, presenceTtlMs } = this.options;
    this.timers.push(setInterval(() => this.heartbeat(), heartbeatMs));
    this.timers.push(setInterval(() => {
      this.presenceGlue.announce(true);
      this.announceReplica();
      this.presenceGlue.expire();
      const now = Date.now();
      this.replicaStats.expire(presenceTtlMs, now);
      this.subscriptions.expire(now);
      const connected = new Set<number>();
      for (const conn of this.connections.values()) connected.add(conn.user.id);
      this.commands.forgetBudgetsExcept(connected);
      this.frameBudget.forgetExcept(connected);
      for (const uid of [...this.cooldowns.keys()]) this.coolingDown(uid, now);
    }, Math.max(250, Math.floor(presenceTtlMs / 3))));
    this.timers.push(setInterval(() => void this.bridge.reconcileRooms(), this.options.reconcileMs ?? 2_000));
    this.timers.push(setInterval(() => void this.revalidate(), this.options.revalidateMs ?? 5_000));
    this.control.start();
    for (const t of this.timers) t.unref();
    // A restarted replica with the same id replaces its old (possibly stale) presence view at once.
    this.presenceGlue.announce(true);
    void this.bridge.publish({ k: 'sync', from: this.options.replicaId });
    this.announceReplica();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.control.stop();
    this.presenceGlue.stop();
  }

  // ---- connections --------------------------------------------------------------------------

  /** Taken by an upgrade before its session check, and handed to attach (see there). */
  sessionCheckMark(): number {
    return this.upgradeSessions.changes.mark();
  }

  /**
   * `socket` is the one the HTTP upgrade handed to `ws` (sends to it are corked per tick). `checkedSince`
   * is the upgrade's sessionCheckMark: a ban, role change or revoke of this session applied since then
   * closed the user's sockets before this one existed, so it is checked again now that it is in place
   * (every event applied from here on finds it): no window in which such an event misses it.
   */
  attach(ws: WebSocket, claims: ChatTokenClaims, requestId: string, socket: Duplex | null = null, checkedSince?: number): Connection {
    let lane = this.lanes.get(claims.uid);
    if (!lane) this.lanes.set(claims.uid, (lane = new FrameLane()));
    const conn = new Connection(ws, claims, this, lane, socket);
    this.connections.set(conn.id, conn);
    let mine = this.byUser.get(claims.uid);
    if (!mine) this.byUser.set(claims.uid, (mine = new Set()));
    mine.add(conn);
    this.connOf.set(ws, conn);
    // The request id is logged here only (it ties the upgrade to the connection): not kept per socket.
    if (this.log.isLevelEnabled('info')) this.log.info({ conn: conn.id, user: claims.uid, reqId: requestId }, 'websocket connected');
    const on = this.socketListeners;
    ws.on('pong', on.pong);
    ws.on('message', on.message);
    ws.on('close', on.close);
    ws.on('error', on.error);
    conn.send({ type: 'hello', protocol: PROTOCOL_VERSION, connectionId: conn.id, replica: this.options.replicaId, user: conn.user, heartbeatMs: this.options.heartbeatMs, limits: { maxMessageBytes: this.options.maxMessageBytes, maxFrameBytes: this.options.maxFrameBytes ?? 16_384 } });
    const key = { uid: claims.uid, sid: claims.sid, role: claims.role };
    if (checkedSince !== undefined && this.upgradeSessions.changes.touchedSince(checkedSince, key)) void this.checkAgain(conn, key);
    return conn;
  }

  /** Ask Postgres (not the cache) about a just-attached socket's session; close the socket unless good. */
  private async checkAgain(conn: Connection, key: SessionKey): Promise<void> {
    let verdict: SessionVerdict;
    try {
      verdict = await this.sessions.check(key);
    } catch (err) {
      // Unknown standing after a change that touched it: the client reconnects, and its upgrade is checked.
      this.log.warn({ conn: conn.id, user: key.uid, err: (err as Error).message }, 'session check after attach failed; closing the socket');
      conn.close(CloseCode.TryAgainLater, 'session check failed; reconnect');
      return;
    }
    if (verdict !== 'ok') {
      this.log.info({ conn: conn.id, user: key.uid, verdict }, 'socket closed: its session changed while it was upgraded');
      closeForVerdict(conn, verdict);
    }
  }

  /** A frame arrived on `conn`'s socket. */
  onFrame(conn: Connection, buf: Buffer, isBinary: boolean): void {
    conn.alive = true;
    if (conn.closing || conn.closed) return; // draining: the client resends unacked sends after it resumes
    // Every frame type costs from the user's budget before any work (parsing included) is done.
    const budget = this.frameBudget.take(conn.user.id, conn);
    if (!budget.ok) return this.overBudget(conn, buf, budget.retryInMs, budget.close);
    const failed = (err: unknown) => {
      this.log.error({ err, conn: conn.id, user: conn.user.id }, 'frame handler failed');
      conn.error(ErrorCode.Internal, 'internal error');
    };
    if (!conn.enqueue(() => this.router.route(conn, buf, isBinary), failed)) {
      this.reject(conn, ErrorCode.RateLimited, 'too many frames waiting; slow down', { ...refOf(buf), retryInMs: 500 });
    }
  }

  /** `conn`'s socket closed. */
  onClosed(conn: Connection, code: number): void {
    conn.closed = true;
    this.detach(conn);
    if (this.log.isLevelEnabled('info')) this.log.info({ conn: conn.id, user: conn.user.id, code }, 'websocket closed');
  }

  /**
   * A frame over the user's budget is dropped, and the socket is not read until the budget has a token
   * again (TCP backpressure: a flood then costs this replica nothing). The client hears it once per
   * pause (and for every refused send, so it resends). A socket that keeps going is closed with 1008 and
   * its user's upgrades are refused for ABUSE_COOLDOWN_MS (before any database work).
   */
  private overBudget(conn: Connection, frame: Buffer, retryInMs: number, close: boolean): void {
    this.counters.framesRejected++;
    if (close) {
      if (!conn.closed) this.log.warn({ conn: conn.id, user: conn.user.id }, 'socket closed: kept sending over its frame budget');
      this.cooldowns.set(conn.user.id, Date.now() + ABUSE_COOLDOWN_MS);
      conn.close(CloseCode.PolicyViolation, 'too many frames');
      conn.ws.pause(); // nothing more is read from it; it is cut after the close timeout
      return;
    }
    const ref = refOf(frame);
    if (ref.ref !== undefined || !conn.ws.isPaused) conn.error(ErrorCode.RateLimited, `too many frames; retry in ${retryInMs} ms`, { ...ref, retryInMs });
    if (conn.ws.isPaused) return;
    conn.ws.pause();
    setTimeout(() => {
      if (!conn.closed) conn.ws.resume();
    }, retryInMs).unref();
  }

  /** True while this user's upgrades are refused after one of their sockets was closed for abuse. */
  coolingDown(userId: number, now = Date.now()): boolean {
    const until = this.cooldowns.get(userId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.cooldowns.delete(userId);
    return false;
  }

  /** Sockets of this user on this replica. */
  userConnectionCount(userId: number): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  /** Would one more socket of this user exceed MAX_SOCKETS_PER_USER? */
  atSocketLimit(userId: number): boolean {
    return this.userConnectionCount(userId) >= (this.options.maxSocketsPerUser ?? 20);
  }

  private detach(conn: Connection): void {
    this.connections.delete(conn.id);
    const mine = this.byUser.get(conn.user.id);
    mine?.delete(conn);
    if (mine?.size === 0) {
      this.byUser.delete(conn.user.id);
      this.lanes.delete(conn.user.id);
    }
    this.subscriptions.unsubscribeAll(conn);
  }

  private reject(conn: Connection, code: ErrorCodeT, message: string, extra: ErrorExtra = {}): void {
    this.counters.framesRejected++;
    this.metrics?.framesRejected.inc({ code });
    conn.error(code, message, extra);
  }

  private heartbeat(): void {
    for (const conn of this.connections.values()) {
      if (!conn.alive) {
        this.log.info({ conn: conn.id }, 'dead peer dropped (no pong)');
        this.counters.deadPeersDropped++;
        conn.closed = true;
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /**
   * Re-check every connected session against Postgres (batched): the user is active, the role is the
   * token's, the session is not revoked. Control events close sockets at once; this is the backstop
   * that depends on no event or memory (e.g. a replica that was partitioned from Postgres).
   */
  async revalidate(): Promise<void> {
    if (this.revalidating || !this.connections.size) return;
    this.revalidating = true;
    const keyOf = (k: SessionKey) => `${k.uid}|${k.role}|${k.sid}`;
    try {
      // Sessions past their absolute lifetime end here whatever Postgres says (the token carries it).
      const nowSec = Date.now() / 1000;
      for (const conn of [...this.connections.values()]) {
        if (conn.claims.sexp !== undefined && conn.claims.sexp <= nowSec) conn.close(CloseCode.SessionRevoked, 'your session ended; log in again');
      }
      const unique = new Map<string, SessionKey>();
      for (const conn of this.connections.values()) {
        if (conn.closed) continue;
        const key = { uid: conn.claims.uid, sid: conn.claims.sid, role: conn.claims.role };
        unique.set(keyOf(key), key);
      }
      const keys = [...unique.values()];
      const verdicts = await this.sessions.checkMany(keys);
      const bad = new Map<string, Exclude<SessionVerdict, 'ok'>>();
      keys.forEach((k, i) => {
        const verdict = verdicts[i]!;
        if (verdict !== 'ok') bad.set(keyOf(k), verdict);
      });
      if (bad.size) {
        for (const conn of [...this.connections.values()]) {
          const verdict = bad.get(keyOf({ uid: conn.claims.uid, sid: conn.claims.sid, role: conn.claims.role }));
          if (verdict) closeForVerdict(conn, verdict);
        }
        this.log.info({ sessions: bad.size }, 're-validation closed sessions no longer valid');
      }
      if (this.revalidationFailing) this.log.info('session re-validation works again');
      this.revalidationFailing = false;
    } catch (err) {
      if (!this.revalidationFailing) this.log.warn({ err: (err as Error).message }, 'session re-validation failed; retrying on the next period');
      this.revalidationFailing = true;
    } finally {
      this.revalidating = false;
    }
  }

  /**
   * Drain this replica's sockets: stop handling frames, let in-flight sends commit and their acks go
   * out, then close every socket with `code` (1012) so clients reconnect elsewhere and resume. Sockets
   * still open at the deadline are cut.
   */
  async drain(code: number, reason: string, deadline: number): Promise<void> {
    this.draining = true;
    for (const conn of this.connections.values()) conn.closing = true;
    while (this.inflightSends() > 0 && Date.now() < deadline) await sleep(10);
    for (const conn of this.connections.values()) conn.close(code, reason);
    while (this.connections.size > 0 && Date.now() < deadline) await sleep(20);
    for (const conn of this.connections.values()) conn.ws.terminate();
  }

  inflightSends(): number {
    let n = 0;
    for (const conn of this.connections.values()) n += conn.inflight;
    return n;
  }

  // ---- replica stats ------------------------------------------------------------------------

  private announceReplica(): void {
    void this.bridge.publish({ k: 'replica', ...this.replicaStats.self() });
  }

  async sayGoodbye(): Promise<void> {
    await this.bridge.publish({ k: 'bye', replica: this.options.replicaId });
  }

  /** Compare each active room with Postgres and fetch what pub/sub did not bring. */
  reconcileRooms(): Promise<void> {
    return this.bridge.reconcileRooms();
  }

  stats() {
    const replicas = this.replicaStats.replicas();
    return {
      replica: this.options.replicaId,
      replicas,
      onlineUsers: this.presence.onlineUserCount(),
      /** Messages stored per minute, summed over the replicas this one knows. */
      messagesPerMinute: replicas.reduce((n, r) => n + (r.messagesPerMinute ?? 0), 0),
      counters: { ...this.counters, ...this.control.stats, ...this.upgradeSessions.stats, ...this.messages.writer.stats, writeQueue: this.messages.writer.queued() },
    };
  }
}

/**
 * The listeners of every socket of a hub: `ws` calls them with the socket as `this`, and the socket's
 * connection is looked up, instead of five closures (and their context) kept per socket.
 */
function socketListeners(connOf: WeakMap<WebSocket, Connection>, hub: Hub) {
  function pong(this: WebSocket): void {
    const conn = connOf.get(this);
    if (conn) conn.alive = true;
  }
  function message(this: WebSocket, data: RawData, isBinary: boolean): void {
    const conn = connOf.get(this);
    if (conn) hub.onFrame(conn, data as Buffer, isBinary);
  }
  function close(this: WebSocket, code: number): void {
    const conn = connOf.get(this);
    if (conn) hub.onClosed(conn, code);
  }
  function error(this: WebSocket, err: Error): void {
    const conn = connOf.get(this);
    hub.log.warn({ err: err.message, conn: conn?.id, user: conn?.user.id }, 'websocket error');
  }
  return { pong, message, close, error };
}

/** Name the refused send (if the frame is one) so the client retries it instead of waiting forever. */
function refOf(frame: Buffer): { ref?: string } {
  const ref = /"clientId"\s*:\s*"([A-Za-z0-9_-]{1,64})"/.exec(frame.subarray(0, 4096).toString('utf8'))?.[1];
  return ref ? { ref } : {};
}

/** Close a socket whose session is no longer good, saying why (4002: get a new token; 4001: stop). */
export function closeForVerdict(conn: Connection, verdict: Exclude<SessionVerdict, 'ok'>): void {
  if (verdict === 'role_changed') conn.close(CloseCode.TokenInvalid, 'role changed; get a new token');
  else conn.close(CloseCode.SessionRevoked, verdict === 'revoked' ? 'session revoked' : 'account not active');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
