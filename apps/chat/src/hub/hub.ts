// The chat hub of one replica: owns the connections and wires the parts that serve them. Each part is
// one file: connection.ts (a socket), frame-router.ts (frame validation and dispatch),
// subscriptions.ts (rooms, join/replay/leave), message-commands.ts (send/edit/delete/history/typing),
// cluster-bridge.ts (the bus between replicas), internal-commands.ts (admin's requests),
// presence-glue.ts and replica-stats.ts.
import type { WebSocket } from 'ws';
import type { Logger } from '@parley/logging';
import type { ChatTokenClaims } from '@parley/chat-token';
import { type ChatMessage, type ErrorCode as ErrorCodeT, ErrorCode, PROTOCOL_VERSION } from '@parley/protocol';
import type { Bus, BusEventOf } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import { ClusterBridge } from './cluster-bridge.ts';
import { Connection, type ConnectionHost, type ErrorExtra } from './connection.ts';
import { FrameRouter } from './frame-router.ts';
import { InternalCommands } from './internal-commands.ts';
import { MessageCommands } from './message-commands.ts';
import { PresenceGlue } from './presence-glue.ts';
import type { Presence } from './presence.ts';
import { type HubCounters, ReplicaStats } from './replica-stats.ts';
import { Subscriptions } from './subscriptions.ts';
import type { HubMetrics } from '../metrics.ts';

export { Connection } from './connection.ts';

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
  /** How long revoked sessions are remembered: at least the chat token lifetime. */
  revocationMemoryMs?: number;
  /** Period of the room reconcile against Postgres, which repairs events lost by pub/sub. */
  reconcileMs?: number;
}

export class Hub implements ConnectionHost {
  readonly connections = new Map<string, Connection>();
  private readonly timers: NodeJS.Timeout[] = [];
  draining = false;
  private readonly replicaStats: ReplicaStats;
  private readonly presenceGlue: PresenceGlue;
  private readonly subscriptions: Subscriptions;
  private readonly bridge: ClusterBridge;
  private readonly commands: MessageCommands;
  private readonly internal: InternalCommands;
  private readonly router: FrameRouter;
  private readonly metrics: HubMetrics | undefined;

  constructor(
    readonly options: HubOptions,
    private readonly messages: MessageRepository,
    bus: Bus,
    readonly log: Logger,
    metrics?: HubMetrics,
  ) {
    const { replicaId } = options;
    const reject = (conn: Connection, code: ErrorCodeT, message: string, extra?: ErrorExtra) => this.reject(conn, code, message, extra);
    this.replicaStats = new ReplicaStats(replicaId, () => ({ connections: this.connections.size, rooms: this.subscriptions.roomCount, draining: this.draining }));
    const counters = this.replicaStats.counters;
    this.presenceGlue = new PresenceGlue(replicaId, options.presenceTtlMs, (room) => this.subscriptions.room(room), (event) => void this.bridge.publish(event));
    this.subscriptions = new Subscriptions({ messages, historyPageSize: options.historyPageSize, presence: this.presenceGlue, counters, reject, log, metrics });
    this.metrics = metrics;
    this.bridge = new ClusterBridge(replicaId, bus, this.subscriptions, messages, counters, log);
    this.commands = new MessageCommands({ options, messages, subscriptions: this.subscriptions, stats: this.replicaStats, publish: (e) => this.bridge.publish(e), reject, log, metrics });
    this.internal = new InternalCommands({
      replicaId, revocationMemoryMs: options.revocationMemoryMs ?? 120_000, connections: () => this.connections.values(),
      messages, subscriptions: this.subscriptions, commands: this.commands, publish: (e) => this.bridge.publishOrThrow(e),
    });
    this.router = new FrameRouter({ maxFrameBytes: options.maxFrameBytes, subscriptions: this.subscriptions, commands: this.commands, reject, metrics });
    this.bridge.listen({
      update: (e) => this.commands.applyPeerUpdate(e),
      typing: (e) => this.commands.deliverTyping(e),
      presence: (e) => this.presenceGlue.applyRemote(e),
      replica: (e) => this.replicaStats.peerAnnounced(e),
      sync: () => {
        this.presenceGlue.announce(true);
        this.announceReplica();
      },
      bye: (replica) => {
        this.replicaStats.peerLeft(replica);
        this.presenceGlue.dropReplica(replica);
      },
      kick: (e) => this.internal.applyKick(e),
      moderation: (e) => this.internal.applyModeration(e),
      membership: (e) => this.internal.applyMembership(e),
      archived: (e) => this.internal.applyArchived(e),
      resubscribed: () => {
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

  get startedAt(): string {
    return this.replicaStats.startedAt;
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
      this.internal.expire(now);
      this.subscriptions.expire(now);
      const connected = new Set<number>();
      for (const conn of this.connections.values()) connected.add(conn.user.id);
      this.commands.forgetBudgetsExcept(connected);
    }, Math.max(250, Math.floor(presenceTtlMs / 3))));
    this.timers.push(setInterval(() => void this.bridge.reconcileRooms(), this.options.reconcileMs ?? 2_000));
    for (const t of this.timers) t.unref();
    // A restarted replica with the same id replaces its old (possibly stale) presence view at once.
    this.presenceGlue.announce(true);
    void this.bridge.publish({ k: 'sync', from: this.options.replicaId });
    this.announceReplica();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.presenceGlue.stop();
  }

  /** True when a token for this session/user must be refused (revoked after the token was issued). */
  isRevoked(claims: ChatTokenClaims): boolean {
    return this.internal.isRevoked(claims);
  }

  // ---- connections --------------------------------------------------------------------------

  attach(ws: WebSocket, claims: ChatTokenClaims, requestId: string): Connection {
    const conn = new Connection(ws, claims, this);
    this.connections.set(conn.id, conn);
    // The per-connection logger is made only when something is logged (a pino child per socket is not free).
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ conn: conn.id, user: claims.uid, reqId: requestId }));
    const infoEnabled = this.log.isLevelEnabled('info');
    if (infoEnabled) log().info('websocket connected');
    ws.on('pong', () => {
      conn.alive = true;
    });
    const onError = (err: unknown) => {
      log().error({ err }, 'frame handler failed');
      conn.error(ErrorCode.Internal, 'internal error');
    };
    ws.on('message', (data, isBinary) => {
      conn.alive = true;
      if (conn.closing || conn.closed) return; // draining: the client resends unacked sends after it resumes
      const buf = data as Buffer;
      if (!conn.enqueue(() => this.router.route(conn, buf, isBinary), onError)) {
        // Name the refused send (if it is one) so the client retries it instead of waiting forever.
        const ref = /"clientId"\s*:\s*"([A-Za-z0-9_-]{1,64})"/.exec(buf.subarray(0, 4096).toString('utf8'))?.[1];
        this.reject(conn, ErrorCode.RateLimited, 'too many frames waiting; slow down', { ...(ref ? { ref } : {}), retryInMs: 500 });
      }
    });
    ws.on('close', (code) => {
      conn.closed = true;
      this.detach(conn);
      if (infoEnabled) log().info({ code }, 'websocket closed');
    });
    ws.on('error', (err) => log().warn({ err: err.message }, 'websocket error'));
    conn.send({ type: 'hello', protocol: PROTOCOL_VERSION, connectionId: conn.id, replica: this.options.replicaId, user: conn.user, heartbeatMs: this.options.heartbeatMs, limits: { maxMessageBytes: this.options.maxMessageBytes, maxFrameBytes: this.options.maxFrameBytes ?? 16_384 } });
    return conn;
  }

  private detach(conn: Connection): void {
    this.connections.delete(conn.id);
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

  // ---- internal API -------------------------------------------------------------------------

  kick(target: { userId?: number; sessionId?: string }, reason: string): Promise<void> {
    return this.internal.kick(target, reason);
  }

  moderate(event: Omit<BusEventOf<'mod'>, 'k' | 'from'>): Promise<void> {
    return this.internal.moderate(event);
  }

  removeMember(roomId: number, userId: number): Promise<boolean> {
    return this.internal.removeMember(roomId, userId);
  }

  roomArchived(roomId: number, archived: boolean): Promise<void> {
    return this.internal.roomArchived(roomId, archived);
  }

  deleteMessage(roomId: number, seq: number, moderatorId: number): Promise<ChatMessage | null> {
    return this.internal.deleteMessage(roomId, seq, moderatorId);
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
      counters: { ...this.counters, ...this.messages.writer.stats, writeQueue: this.messages.writer.queued() },
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
