// The chat hub of one replica: connections, their rooms, frame handling, and the bus glue that makes
// every replica deliver every committed message in order.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from '@parley/logging';
import type { ChatTokenClaims } from '@parley/chat-token';
import {
  type ChatMessage, type ClientFrame, type ErrorCode as ErrorCodeT, type ServerFrame, type UserRef,
  CloseCode, ErrorCode, PROTOCOL_VERSION, clientFrameSchema, CLIENT_FRAME_TYPES, utf8Length,
} from '@parley/protocol';
import { type Bus, type BusEvent, messagesEvent } from '../bus/index.ts';
import { type MessageRepository, OverloadedError, RoomArchivedError } from '../messages/message-repository.ts';
import { type Frame, RoomState, type Subscriber, messageFrame } from './room-state.ts';
import { Presence, PresencePusher } from './presence.ts';
import { TokenBucket } from './token-bucket.ts';

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

interface JoinedRoom {
  roomId: number;
  mutedUntil: number;
  lastTypingAt: number;
}

const INITIAL_HISTORY = 50;
/** Frames of one connection waiting to be handled; more are refused with rate_limited. */
const MAX_QUEUED_FRAMES = 512;

/** Messages stored per minute, over a sliding window of 60 one-second buckets. */
class RateWindow {
  private readonly buckets = new Array<number>(60).fill(0);
  private second = Math.floor(Date.now() / 1000);

  private advance(now: number): void {
    const s = Math.floor(now / 1000);
    for (let t = Math.max(this.second + 1, s - 59); t <= s; t++) this.buckets[t % 60] = 0;
    this.second = Math.max(this.second, s);
  }

  add(n = 1, now = Date.now()): void {
    this.advance(now);
    this.buckets[this.second % 60]! += n;
  }

  perMinute(now = Date.now()): number {
    this.advance(now);
    return this.buckets.reduce((a, b) => a + b, 0);
  }
}

/** Connections whose socket was corked during the current tick; uncorked together at its end. */
const corkedConnections: Connection[] = [];
function uncorkAll(): void {
  for (const conn of corkedConnections) {
    conn.corked = false;
    (conn.ws as unknown as { _socket?: Socket | null })._socket?.uncork();
  }
  corkedConnections.length = 0;
}

export class Connection {
  readonly id = randomUUID();
  readonly user: UserRef;
  readonly rooms = new Map<number, JoinedRoom>();
  alive = true;
  closed = false;
  /** Set when the replica drains: frames are no longer handled (clients resend unacked sends elsewhere). */
  closing = false;
  /** Sends this connection is handling, so that a drain waits for their acks. */
  inflight = 0;
  /** Frames are handled one after another, in arrival order (a send right after a join sees the join). */
  private chain: Promise<void> = Promise.resolve();
  private queuedFrames = 0;
  /** The socket is corked until the end of this tick (see sendRaw). */
  corked = false;

  constructor(readonly ws: WebSocket, readonly claims: ChatTokenClaims, private readonly hub: Hub) {
    this.user = { id: claims.uid, handle: claims.handle, displayName: claims.name };
  }

  /** Queue work behind this connection's earlier frames; false if too much is queued. */
  enqueue(work: () => Promise<void> | void, onError: (err: unknown) => void): boolean {
    if (this.queuedFrames >= MAX_QUEUED_FRAMES) return false;
    this.queuedFrames++;
    this.chain = this.chain.then(work).catch(onError).finally(() => {
      this.queuedFrames--;
    });
    return true;
  }

  send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /** Send a pre-serialized frame; a reader that falls too far behind is closed, never buffered forever. */
  sendRaw(frame: Frame): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.hub.options.maxBufferedBytes) {
      this.hub.log.warn({ conn: this.id, user: this.user.id, buffered: this.ws.bufferedAmount }, 'slow consumer closed');
      this.hub.counters.slowConsumersClosed++;
      this.close(CloseCode.SlowConsumer, 'slow consumer');
      return;
    }
    // Frames sent in one tick (acks and messages of a committed batch) leave in one write, not one
    // syscall each: the socket is corked until the microtasks of this tick have run.
    if (!this.corked) {
      const socket = (this.ws as unknown as { _socket?: Socket | null })._socket;
      if (socket && typeof socket.cork === 'function' && !socket.destroyed) {
        socket.cork();
        this.corked = true;
        // One nextTick for all sockets corked in this tick, not one closure per socket per broadcast.
        if (corkedConnections.push(this) === 1) process.nextTick(uncorkAll);
      }
    }
    // A Buffer (a frame encoded once for many sockets) still goes out as a text frame.
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, { binary: false });
  }

  /** Wait until the socket's send buffer is below half the limit (backpressure for backlog replay). */
  async writable(): Promise<void> {
    const limit = this.hub.options.maxBufferedBytes / 2;
    while (!this.closed && this.ws.bufferedAmount > limit) await new Promise((r) => setTimeout(r, 10));
  }

  error(code: ErrorCodeT, message: string, extra: { ref?: string; room?: number; retryInMs?: number } = {}): void {
    this.send({ type: 'error', code, message, ...extra });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }
}

export class Hub {
  readonly connections = new Map<string, Connection>();
  private readonly rooms = new Map<number, RoomState>();
  private readonly roomLoads = new Map<number, Promise<RoomState | null>>();
  readonly presence: Presence;
  /** Coalesced, capped presence pushes to local sockets (see PresencePusher). */
  private readonly presencePush: PresencePusher;
  private readonly buckets = new Map<number, TokenBucket>();
  private readonly revokedSessions = new Map<string, number>();
  private readonly revokedUsers = new Map<number, number>();
  private readonly remoteReplicas = new Map<string, { connections: number; rooms: number; startedAt: string; at: number; draining: boolean; messagesPerMinute?: number }>();
  private readonly timers: NodeJS.Timeout[] = [];
  readonly startedAt = new Date().toISOString();
  draining = false;
  /** Counters for stats and metrics. */
  readonly counters = { messagesStored: 0, framesRejected: 0, slowConsumersClosed: 0, deadPeersDropped: 0, gapRepairs: 0 };
  private readonly storedRate = new RateWindow();
  private readonly pendingPresence = new Set<number>();
  private presenceFlush: NodeJS.Timeout | null = null;
  /**
   * Access removals seen lately ("room:user" → removal number and time), so a join that checked access
   * just before a removal arrived does not subscribe after it (see join).
   */
  private readonly removals = new Map<string, { n: number; at: number }>();
  /** Committed messages not yet published to the bus (see queuePublish). */
  private outgoing: ChatMessage[] = [];
  private removalCount = 0;
  /** Archive changes seen lately (room → change number, state, time), for joins racing with them. */
  private readonly archiveChanges = new Map<number, { n: number; archived: boolean; at: number }>();
  private archiveCount = 0;

  constructor(
    readonly options: HubOptions,
    private readonly messages: MessageRepository,
    private readonly bus: Bus,
    readonly log: Logger,
  ) {
    this.presence = new Presence(options.presenceTtlMs);
    this.presencePush = new PresencePusher(this.presence, (room, frame) => this.sendPresence(room, frame));
    bus.onEvent((event) => this.onBusEvent(event));
    bus.onResubscribe(() => {
      log.info('fan-out resubscribed: reconciling rooms and presence with Postgres and peers');
      void this.reconcileRooms();
      void this.publish({ k: 'sync', from: options.replicaId });
      this.announcePresence(true);
    });
  }

  start(): void {
    const { heartbeatMs, presenceTtlMs } = this.options;
    this.timers.push(setInterval(() => this.heartbeat(), heartbeatMs));
    this.timers.push(setInterval(() => {
      this.announcePresence(true);
      this.announceReplica();
      for (const room of this.presence.expire()) this.pushPresence(room);
      const now = Date.now();
      for (const [id, r] of this.remoteReplicas) if (r.at + presenceTtlMs < now) this.remoteReplicas.delete(id);
      for (const [sid, until] of this.revokedSessions) if (until < now) this.revokedSessions.delete(sid);
      for (const [uid, until] of this.revokedUsers) if (until < now) this.revokedUsers.delete(uid);
      for (const [key, r] of this.removals) if (r.at + 60_000 < now) this.removals.delete(key);
      for (const [room, c] of this.archiveChanges) if (c.at + 60_000 < now) this.archiveChanges.delete(room);
      // Rate-limit buckets of users no longer connected here (they would otherwise accumulate forever).
      const connected = new Set<number>();
      for (const conn of this.connections.values()) connected.add(conn.user.id);
      for (const uid of this.buckets.keys()) if (!connected.has(uid)) this.buckets.delete(uid);
    }, Math.max(250, Math.floor(presenceTtlMs / 3))));
    this.timers.push(setInterval(() => void this.reconcileRooms(), this.options.reconcileMs ?? 2_000));
    for (const t of this.timers) t.unref();
    // A restarted replica with the same id replaces its old (possibly stale) presence view at once.
    this.announcePresence(true);
    void this.publish({ k: 'sync', from: this.options.replicaId });
    this.announceReplica();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    if (this.presenceFlush) clearTimeout(this.presenceFlush);
    this.presencePush.stop();
  }

  /** True when a token for this session/user must be refused (revoked after the token was issued). */
  isRevoked(claims: ChatTokenClaims): boolean {
    const now = Date.now();
    const s = this.revokedSessions.get(claims.sid);
    if (s !== undefined && s > now) return true;
    const u = this.revokedUsers.get(claims.uid);
    return u !== undefined && u > now;
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
      if (!conn.enqueue(() => this.onFrame(conn, buf, isBinary), onError)) {
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
    for (const roomId of [...conn.rooms.keys()]) this.unsubscribe(conn, roomId);
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

  /** Close every socket at once (kept for callers of the previous API). */
  closeAll(code: number, reason: string): void {
    for (const conn of this.connections.values()) conn.close(code, reason);
  }

  inflightSends(): number {
    let n = 0;
    for (const conn of this.connections.values()) n += conn.inflight;
    return n;
  }

  // ---- frames -------------------------------------------------------------------------------

  private async onFrame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (conn.closing || conn.closed) return;
    if (isBinary) return this.reject(conn, ErrorCode.BadFrame, 'binary frames are not supported; send JSON text');
    const maxFrame = this.options.maxFrameBytes;
    if (maxFrame !== undefined && data.length > maxFrame) {
      return this.reject(conn, ErrorCode.TooLarge, `frame is ${data.length} bytes; the limit is ${maxFrame}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      return this.reject(conn, ErrorCode.BadJson, 'frame is not valid JSON');
    }
    const parsed = clientFrameSchema.safeParse(raw);
    if (!parsed.success) {
      const type = (raw as { type?: unknown } | null)?.type;
      if (typeof type !== 'string' || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
        return this.reject(conn, ErrorCode.UnknownType, `unknown frame type ${JSON.stringify(type ?? null).slice(0, 40)}; expected one of ${CLIENT_FRAME_TYPES.join(', ')}`);
      }
      const issue = parsed.error.issues[0];
      const ref = (raw as { clientId?: unknown }).clientId;
      return this.reject(conn, ErrorCode.BadFrame, `invalid ${type} frame: ${issue?.path.join('.') || 'frame'} ${issue?.message ?? ''}`.trim(), typeof ref === 'string' ? { ref: ref.slice(0, 64) } : {});
    }
    const frame: ClientFrame = parsed.data;
    switch (frame.type) {
      case 'join': return this.join(conn, frame.room, frame.sinceSeq);
      case 'leave': return this.leave(conn, frame.room);
      case 'send': return this.sendMessage(conn, frame.room, frame.clientId, frame.body);
      case 'edit': return this.edit(conn, frame.room, frame.seq, frame.body);
      case 'delete': return this.remove(conn, frame.room, frame.seq);
      case 'history': return this.history(conn, frame.room, frame.beforeSeq, frame.limit ?? 50);
      case 'typing': return this.typing(conn, frame.room);
      case 'ping': return conn.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref });
    }
  }

  private reject(conn: Connection, code: ErrorCodeT, message: string, extra: { ref?: string; room?: number; retryInMs?: number } = {}): void {
    this.counters.framesRejected++;
    conn.error(code, message, extra);
  }

  /** Why a message body is refused, or null. */
  private bodyProblem(body: string): { code: ErrorCodeT; message: string } | null {
    const size = utf8Length(body);
    if (size > this.options.maxMessageBytes) return { code: ErrorCode.TooLarge, message: `message is ${size} bytes; the limit is ${this.options.maxMessageBytes}` };
    if (!body.trim()) return { code: ErrorCode.BadFrame, message: 'message body is empty' };
    if (body.includes('\u0000')) return { code: ErrorCode.BadFrame, message: 'message body contains a NUL character' };
    return null;
  }

  // ---- rooms --------------------------------------------------------------------------------

  private async roomState(roomId: number, knownLastSeq: number): Promise<RoomState | null> {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    let loading = this.roomLoads.get(roomId);
    if (!loading) {
      loading = (async () => {
        const access = await this.messages.roomAccess(roomId, 0);
        if (!access) return null;
        const again = this.rooms.get(roomId);
        if (again) return again;
        // Start at the lower of the two: anything after it arrives by event or is repaired from Postgres.
        const state = new RoomState(access.room, Math.min(knownLastSeq, access.lastSeq), this.messages, (err) => this.log.error({ err, room: roomId }, 'gap repair failed'));
        this.rooms.set(roomId, state);
        return state;
      })().finally(() => this.roomLoads.delete(roomId));
      this.roomLoads.set(roomId, loading);
    }
    return loading;
  }

  private releaseIfEmpty(roomId: number, state: RoomState): void {
    if (!state.subs.size && this.rooms.get(roomId) === state) this.rooms.delete(roomId);
  }

  /**
   * Join (or rejoin) a room. Returns once the subscription is registered, so frames after the join
   * (sends) see it; the backlog replay continues in the background and ends with `caught_up`.
   */
  private async join(conn: Connection, roomId: number, sinceSeq: number | undefined): Promise<void> {
    const removalsBefore = this.removalCount;
    const archiveChangesBefore = this.archiveCount;
    const access = await this.messages.roomAccess(roomId, conn.user.id);
    if (!access || (access.room.kind !== 'public' && !access.isMember)) {
      // Same answer for "missing" and "private": do not reveal which private rooms exist.
      return this.reject(conn, ErrorCode.NotFound, `room ${roomId} does not exist or you are not a member`, { room: roomId });
    }
    if (conn.closed) return;
    if (conn.rooms.has(roomId)) this.unsubscribe(conn, roomId);
    const state = await this.roomState(roomId, access.lastSeq);
    if (!state) return this.reject(conn, ErrorCode.NotFound, `room ${roomId} does not exist or you are not a member`, { room: roomId });
    if (conn.closed) return this.releaseIfEmpty(roomId, state);
    // Access was taken away while the checks above were in flight: the removal found no subscription
    // to end, so refuse here (synchronously with subscribing, so no later removal can slip between).
    const removal = this.removals.get(`${roomId}:${conn.user.id}`);
    if (removal && removal.n > removalsBefore) {
      this.releaseIfEmpty(roomId, state);
      return this.reject(conn, ErrorCode.NotFound, `room ${roomId} does not exist or you are not a member`, { room: roomId });
    }
    conn.rooms.set(roomId, { roomId, mutedUntil: access.mutedUntil?.getTime() ?? 0, lastTypingAt: 0 });
    const sub: Subscriber = {
      connId: conn.id,
      catchingUp: true,
      buffer: [],
      seq: 0,
      sendRaw: (f) => conn.sendRaw(f),
      overflow: () => {
        this.counters.slowConsumersClosed++;
        conn.close(CloseCode.SlowConsumer, 'too far behind while catching up');
      },
    };
    state.subs.set(conn.id, sub);

    // Resume from the client's last seq, or start with the latest page of history.
    const from = sinceSeq !== undefined ? Math.min(sinceSeq, access.lastSeq) : Math.max(0, access.lastSeq - INITIAL_HISTORY);
    conn.send({ type: 'joined', room: access.room, lastSeq: access.lastSeq, resumedFrom: from });
    // Archived/unarchived after our read of the room: `joined` says the old state, so say the new one.
    const change = this.archiveChanges.get(roomId);
    if (change && change.n > archiveChangesBefore && change.archived !== access.room.archived) {
      conn.send({ type: 'archived', room: roomId, archived: change.archived });
    }
    // The joiner hears presence at once; the room (and the joiner, if it changed) with the next push.
    if (this.presence.add(roomId, conn.user)) this.presenceChanged(roomId);
    conn.sendRaw(this.presencePush.current(roomId));
    void this.replay(conn, state, sub, roomId, from).catch((err) => {
      if (state.subs.get(conn.id) !== sub) return;
      this.log.error({ err, room: roomId, conn: conn.id }, 'backlog replay failed; closing so the client resumes');
      conn.close(CloseCode.TryAgainLater, 'resume failed; reconnect');
    });
  }

  /**
   * Send the backlog after `from` from Postgres, page by page (no cap), then the live frames buffered
   * meanwhile. The buffer holds every message the room delivered since the subscription, and the last
   * Postgres page was read after it, so the two overlap: messages at or below the cursor are skipped
   * and the seam has neither a gap nor a duplicate.
   */
  private async replay(conn: Connection, state: RoomState, sub: Subscriber, roomId: number, from: number): Promise<void> {
    const pageSize = this.options.historyPageSize;
    const current = () => state.subs.get(conn.id) === sub && !conn.closed;
    let cursor = from;
    for (;;) {
      for (;;) {
        await conn.writable();
        if (!current()) return;
        const page = await this.messages.after(roomId, cursor, pageSize);
        if (!current()) return;
        for (const message of page) {
          if (message.seq <= cursor) continue;
          conn.sendRaw(messageFrame(roomId, message));
          cursor = message.seq;
        }
        if (page.length < pageSize) break;
      }
      // From here on synchronous: nothing can be delivered between draining the buffer and going live.
      const buffered = sub.buffer;
      sub.buffer = [];
      let gapAt = -1;
      for (let i = 0; i < buffered.length; i++) {
        const item = buffered[i]!;
        if (item.seq === null) {
          conn.sendRaw(item.frame);
        } else if (item.seq > cursor) {
          if (item.seq !== cursor + 1) {
            gapAt = i; // cannot happen by the argument above; if it does, fetch the gap from Postgres
            break;
          }
          conn.sendRaw(item.frame);
          cursor = item.seq;
        }
      }
      if (gapAt >= 0) {
        this.counters.gapRepairs++;
        sub.buffer = buffered.slice(gapAt).concat(sub.buffer);
        continue;
      }
      sub.seq = cursor;
      sub.catchingUp = false;
      conn.send({ type: 'caught_up', room: roomId, seq: cursor });
      return;
    }
  }

  private async leave(conn: Connection, roomId: number): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.reject(conn, ErrorCode.NotJoined, `you have not joined room ${roomId}`, { room: roomId });
    this.unsubscribe(conn, roomId);
    conn.send({ type: 'left', room: roomId });
  }

  private unsubscribe(conn: Connection, roomId: number): void {
    conn.rooms.delete(roomId);
    const state = this.rooms.get(roomId);
    if (state) {
      state.subs.delete(conn.id);
      this.releaseIfEmpty(roomId, state);
    }
    if (this.presence.remove(roomId, conn.user.id)) this.presenceChanged(roomId);
  }

  // ---- messages -----------------------------------------------------------------------------

  /**
   * Validate and queue a message for storage synchronously (so one connection's sends keep their order),
   * then ack after COMMIT without holding up the connection's next frames.
   */
  private sendMessage(conn: Connection, roomId: number, clientId: string, body: string): void {
    const joined = conn.rooms.get(roomId);
    if (!joined) return this.reject(conn, ErrorCode.NotJoined, `join room ${roomId} before sending to it`, { ref: clientId, room: roomId });
    const problem = this.bodyProblem(body);
    if (problem) return this.reject(conn, problem.code, problem.message, { ref: clientId, room: roomId });
    if (joined.mutedUntil > Date.now()) {
      return this.reject(conn, ErrorCode.Muted, `you are muted in this room until ${new Date(joined.mutedUntil).toISOString()}`, { ref: clientId, room: roomId });
    }
    let bucket = this.buckets.get(conn.user.id);
    if (!bucket) this.buckets.set(conn.user.id, (bucket = new TokenBucket(this.options.sendRatePerSec, this.options.sendBurst)));
    const waitMs = bucket.take();
    if (waitMs > 0) return this.reject(conn, ErrorCode.RateLimited, `sending too fast; retry in ${waitMs} ms`, { ref: clientId, room: roomId, retryInMs: waitMs });

    conn.inflight++;
    this.messages.store({ roomId, authorId: conn.user.id, clientId, body }).then(
      ({ message, duplicate }) => {
        if (message.roomId !== roomId) {
          return this.reject(conn, ErrorCode.BadFrame, 'this client id was already used for a message in another room', { ref: clientId, room: roomId });
        }
        // Ack first: it must not wait for the fan-out (which, in a big room, runs over several turns).
        conn.send({ type: 'ack', room: roomId, clientId, seq: message.seq, id: message.id, createdAt: message.createdAt, duplicate });
        if (!duplicate) {
          this.counters.messagesStored++;
          this.storedRate.add();
          this.queuePublish(message);
          this.rooms.get(roomId)?.committed(message.seq, message);
        }
      },
      (err: unknown) => {
        if (err instanceof RoomArchivedError) return this.reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { ref: clientId, room: roomId });
        if (err instanceof OverloadedError) return this.reject(conn, ErrorCode.Unavailable, 'the server is overloaded; the message was not stored; retry', { ref: clientId, room: roomId, retryInMs: 1_000 });
        this.log.error({ err, room: roomId }, 'storing a message failed');
        this.reject(conn, ErrorCode.Unavailable, 'the message was not stored; retry', { ref: clientId, room: roomId, retryInMs: 1_000 });
      },
    ).finally(() => {
      conn.inflight--;
    });
  }

  private async edit(conn: Connection, roomId: number, seq: number, body: string): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const problem = this.bodyProblem(body);
    if (problem) return this.reject(conn, problem.code, problem.message, { room: roomId });
    const updated = await this.messages.edit(roomId, seq, conn.user.id, body);
    if (!updated) return this.reject(conn, ErrorCode.Forbidden, 'you can only edit your own messages that are not deleted', { room: roomId });
    await this.publishUpdate(updated);
  }

  private async remove(conn: Connection, roomId: number, seq: number): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    // Only the author deletes over the socket. Moderators delete others' messages through the panel,
    // which checks their scope and writes the audit log, then calls /internal/moderation.
    const updated = await this.messages.softDelete(roomId, seq, conn.user.id, false);
    if (!updated) return this.reject(conn, ErrorCode.Forbidden, 'you can only delete your own messages', { room: roomId });
    await this.publishUpdate(updated);
  }

  /** Tell every replica about an edited or deleted message (also used by the internal API). */
  async publishUpdate(message: ChatMessage): Promise<void> {
    this.deliverUpdate(message);
    await this.publish({ k: 'upd', room: message.roomId, message, from: this.options.replicaId });
  }

  private deliverUpdate(message: ChatMessage): void {
    this.rooms.get(message.roomId)?.broadcast(JSON.stringify({ type: 'updated', room: message.roomId, message }));
  }

  private async history(conn: Connection, roomId: number, beforeSeq: number, limit: number): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const page = await this.messages.before(roomId, beforeSeq, limit);
    conn.send({ type: 'history', room: roomId, messages: page.messages, hasMore: page.hasMore });
  }

  private async typing(conn: Connection, roomId: number): Promise<void> {
    const joined = conn.rooms.get(roomId);
    if (!joined) return this.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const now = Date.now();
    if (now - joined.lastTypingAt < 2_000) return; // typing is ephemeral; throttle quietly
    joined.lastTypingAt = now;
    const event = { k: 'typing', room: roomId, user: conn.user, from: conn.id, replica: this.options.replicaId } as const;
    this.deliverTyping(event);
    await this.publish(event);
  }

  private deliverTyping(event: Extract<BusEvent, { k: 'typing' }>): void {
    const state = this.rooms.get(event.room);
    if (!state) return;
    const frame = Buffer.from(JSON.stringify({ type: 'typing', room: event.room, user: event.user }));
    for (const sub of state.subs.values()) if (sub.connId !== event.from && !sub.catchingUp) sub.sendRaw(frame);
  }

  // ---- bus ----------------------------------------------------------------------------------

  /**
   * Publish a committed message to the other replicas. The writer resolves a whole batch in one run of
   * the microtask queue, so messages are collected and go out as one event per batch (in commit order),
   * published once the microtasks have run (process.nextTick): one bus round trip per batch, not per message.
   */
  private queuePublish(message: ChatMessage): void {
    this.outgoing.push(message);
    if (this.outgoing.length === 1) process.nextTick(this.flushOutgoing);
  }

  private readonly flushOutgoing = (): void => {
    const batch = this.outgoing;
    if (!batch.length) return;
    this.outgoing = [];
    // A single message keeps the old event, which replicas of the previous version understand too.
    const m = batch[0]!;
    void this.publish(batch.length === 1 ? { k: 'msg', room: m.roomId, seq: m.seq, message: m } : messagesEvent(this.options.replicaId, batch));
  };

  private async publish(event: BusEvent): Promise<void> {
    try {
      await this.bus.publish(event);
    } catch (err) {
      // Messages are already committed: peers repair from Postgres on their next reconcile.
      this.log.warn({ err: (err as Error).message, kind: event.k }, 'fan-out publish failed');
    }
  }

  private onBusEvent(event: BusEvent): void {
    const self = this.options.replicaId;
    switch (event.k) {
      case 'msg': {
        const state = this.rooms.get(event.room);
        if (state) state.committed(event.seq, event.message ?? null);
        return;
      }
      case 'msgs': {
        if (event.from === self) return; // delivered locally already (buses usually drop it undecoded)
        if (!Array.isArray(event.messages)) return;
        for (const message of event.messages) this.rooms.get(message.roomId)?.committed(message.seq, message);
        return;
      }
      case 'upd':
        if (event.from === self) return; // delivered locally already
        return this.deliverUpdate(event.message);
      case 'updref': {
        if (event.from === self || !this.rooms.has(event.room)) return;
        void this.messages.bySeq(event.room, event.seq).then((m) => m && this.deliverUpdate(m), () => undefined);
        return;
      }
      case 'typing':
        if (event.replica === self) return;
        return this.deliverTyping(event);
      case 'presence': {
        if (event.replica === self) return;
        for (const room of this.presence.applyRemote(event.replica, event.rooms, event.full)) this.pushPresence(room);
        return;
      }
      case 'replica': {
        if (event.replica !== self) this.remoteReplicas.set(event.replica, event);
        return;
      }
      case 'sync': {
        if (event.from !== self) {
          this.announcePresence(true);
          this.announceReplica();
        }
        return;
      }
      case 'bye': {
        if (event.replica === self) return;
        this.remoteReplicas.delete(event.replica);
        for (const room of this.presence.dropReplica(event.replica)) this.pushPresence(room);
        return;
      }
      case 'kick':
        if (event.from === self) return;
        return this.applyKick(event);
      case 'mod':
        if (event.from === self) return;
        return this.applyModeration(event);
      case 'member':
        if (event.from === self) return;
        return this.applyMembership(event);
      case 'archived':
        if (event.from === self) return;
        return this.applyArchived(event);
    }
  }

  /** A user lost access to a room: their sockets here leave it and are told why. */
  private applyMembership(event: Extract<BusEvent, { k: 'member' }>): void {
    this.removals.set(`${event.room}:${event.userId}`, { n: ++this.removalCount, at: Date.now() });
    const frame = JSON.stringify({ type: 'left', room: event.room, reason: 'removed' } satisfies ServerFrame);
    for (const conn of this.connections.values()) {
      if (conn.user.id !== event.userId || !conn.rooms.has(event.room)) continue;
      this.unsubscribe(conn, event.room);
      conn.sendRaw(frame);
    }
  }

  /** A room was archived or unarchived: everyone in it here is told (sends are refused by Postgres). */
  private applyArchived(event: Extract<BusEvent, { k: 'archived' }>): void {
    this.archiveChanges.set(event.room, { n: ++this.archiveCount, archived: event.archived, at: Date.now() });
    const state = this.rooms.get(event.room);
    if (!state) return;
    state.info.archived = event.archived;
    state.broadcast(JSON.stringify({ type: 'archived', room: event.room, archived: event.archived } satisfies ServerFrame));
  }

  private applyKick(event: Extract<BusEvent, { k: 'kick' }>): void {
    if (event.sessionId) this.revokedSessions.set(event.sessionId, event.until);
    if (event.userId !== undefined) this.revokedUsers.set(event.userId, event.until);
    for (const conn of this.connections.values()) {
      if ((event.sessionId && conn.claims.sid === event.sessionId) || (event.userId !== undefined && conn.user.id === event.userId)) {
        conn.close(CloseCode.SessionRevoked, event.reason.slice(0, 100));
      }
    }
  }

  private applyModeration(event: Extract<BusEvent, { k: 'mod' }>): void {
    const until = event.until ? Date.parse(event.until) : 0;
    const frame = JSON.stringify({ type: 'moderation', room: event.room, action: event.action, userId: event.userId, until: event.until });
    for (const conn of this.connections.values()) {
      if (conn.user.id === event.userId) {
        for (const joined of conn.rooms.values()) {
          if (event.room === null || joined.roomId === event.room) joined.mutedUntil = event.action === 'muted' ? until : 0;
        }
      }
      if (event.room === null || conn.rooms.has(event.room)) conn.sendRaw(frame);
    }
  }

  /** Entry points for the internal API: they go through the bus so every replica acts. */
  async kick(target: { userId?: number; sessionId?: string }, reason: string): Promise<void> {
    const event: Extract<BusEvent, { k: 'kick' }> = { k: 'kick', ...target, reason, until: Date.now() + (this.options.revocationMemoryMs ?? 120_000), from: this.options.replicaId };
    this.applyKick(event);
    await this.bus.publish(event);
  }

  async moderate(event: Omit<Extract<BusEvent, { k: 'mod' }>, 'k' | 'from'>): Promise<void> {
    const full: Extract<BusEvent, { k: 'mod' }> = { k: 'mod', ...event, from: this.options.replicaId };
    this.applyModeration(full);
    await this.bus.publish(full);
  }

  /**
   * A user was removed from a room: if Postgres agrees they have no access any more, every replica ends
   * their subscriptions to it. False when they still have access (nothing done).
   */
  async removeMember(roomId: number, userId: number): Promise<boolean> {
    // Postgres decides: someone who can still get in (public room, or re-added meanwhile) keeps the room.
    const access = await this.messages.roomAccess(roomId, userId);
    if (access && (access.room.kind === 'public' || access.isMember)) return false;
    const event: Extract<BusEvent, { k: 'member' }> = { k: 'member', room: roomId, userId, action: 'removed', from: this.options.replicaId };
    this.applyMembership(event);
    await this.bus.publish(event);
    return true;
  }

  /** A room was archived or unarchived (already in Postgres): every replica tells its sockets. */
  async roomArchived(roomId: number, archived: boolean): Promise<void> {
    const event: Extract<BusEvent, { k: 'archived' }> = { k: 'archived', room: roomId, archived, from: this.options.replicaId };
    this.applyArchived(event);
    await this.bus.publish(event);
  }

  async deleteMessage(roomId: number, seq: number, moderatorId: number): Promise<ChatMessage | null> {
    const updated = await this.messages.softDelete(roomId, seq, moderatorId, true);
    if (updated) await this.publishUpdate(updated);
    return updated;
  }

  // ---- presence and replica stats --------------------------------------------------------

  private presenceChanged(roomId: number): void {
    this.pushPresence(roomId);
    this.pendingPresence.add(roomId);
    // Coalesce announcements: a burst of joins after a deploy becomes one event per 100 ms.
    this.presenceFlush ??= setTimeout(() => {
      this.presenceFlush = null;
      const rooms = [...this.pendingPresence];
      this.pendingPresence.clear();
      void this.publish({ k: 'presence', replica: this.options.replicaId, rooms: this.presence.localSnapshot(rooms), full: false, at: Date.now() });
    }, 100);
  }

  /** The room's presence changed (here or on a peer): its sockets get one coalesced frame soon. */
  private pushPresence(roomId: number): void {
    if (this.rooms.has(roomId)) this.presencePush.changed(roomId);
    else this.presencePush.forget(roomId); // no sockets here: a later joiner gets a fresh frame
  }

  private sendPresence(roomId: number, frame: Buffer): boolean {
    const state = this.rooms.get(roomId);
    if (!state) return false;
    state.broadcast(frame); // chunked, in order with the room's messages
    return true;
  }

  private announcePresence(full: boolean): void {
    void this.publish({ k: 'presence', replica: this.options.replicaId, rooms: this.presence.localSnapshot(), full, at: Date.now() });
  }

  private selfStats() {
    return { replica: this.options.replicaId, connections: this.connections.size, rooms: this.rooms.size, startedAt: this.startedAt, at: Date.now(), draining: this.draining, messagesPerMinute: this.storedRate.perMinute() };
  }

  private announceReplica(): void {
    void this.publish({ k: 'replica', ...this.selfStats() });
  }

  async sayGoodbye(): Promise<void> {
    await this.publish({ k: 'bye', replica: this.options.replicaId });
  }

  /** Compare each active room with Postgres and fetch what pub/sub did not bring. */
  async reconcileRooms(): Promise<void> {
    const ids = [...this.rooms.keys()];
    if (!ids.length) return;
    try {
      const lastSeqs = await this.messages.lastSeqs(ids);
      for (const [id, lastSeq] of lastSeqs) {
        const state = this.rooms.get(id);
        if (state && lastSeq > state.deliveredSeq) {
          this.counters.gapRepairs++;
          state.reconcile(lastSeq);
        }
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'room reconcile failed');
    }
  }

  stats() {
    const replicas = [this.selfStats(), ...[...this.remoteReplicas.entries()].map(([replica, r]) => ({ ...r, replica }))].sort((a, b) => a.replica.localeCompare(b.replica));
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
