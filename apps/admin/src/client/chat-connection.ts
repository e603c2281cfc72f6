// One chat socket for many rooms: fetches a short-lived token from the panel, connects, joins every
// watched room (resuming each from the last seq it saw), resends unacked messages (same client ids, so
// the server stores each once), and reconnects with jittered exponential backoff. UI-free.
//
// Guarantees it keeps per room (and checks): messages are handed to `message` exactly once each and
// strictly in seq order (a gap makes it rejoin that room from its last seq instead of showing a hole);
// a message stays in the outbox until the server acked it or it came back in the stream (then a resend
// is harmless). A dead network is noticed fast: the browser's `offline` event drops the socket at once,
// and with `pingEveryMs` an application ping finds a silent socket within ~2 × pingEveryMs.
// Also runs under Node (tests) with `options.WebSocketImpl` (the `ws` package) and `options.fetchToken`.
import type { ChatMessage, ClientFrame, RoomInfo, ServerFrame, UserRef } from '@parley/protocol';
import { CloseCode, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, SOCKET_PATH } from '@parley/protocol/wire';
import { SUBPROTOCOL_V2, type ServerFrameV2, V2Decoder } from '@parley/protocol/v2';
import { PresenceView } from './presence-view.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'revoked' | 'signed-out';

export interface StateDetail {
  retryInMs?: number;
  reason?: string;
  /** The browser says it has no network. */
  offline?: boolean;
}

/** What one watched room is told. */
export interface RoomHandlers {
  joined?(room: RoomInfo, lastSeq: number, resumedFrom: number | null): void;
  message?(message: ChatMessage, live: boolean): void;
  caughtUp?(seq: number): void;
  updated?(message: ChatMessage): void;
  /** `frame`: the whole answer (its anchor: beforeSeq, afterSeq or aroundSeq; hasNewer). */
  history?(messages: ChatMessage[], hasMore: boolean, frame: Extract<ServerFrame, { type: 'history' }>): void;
  ack?(clientId: string, seq: number): void;
  /**
   * Who is online: the users known (by handle) and how many there are; `listed` false: a big room,
   * only the count is kept current (fetch the list with `presenceList`).
   */
  presence?(users: UserRef[], count: number, listed: boolean): void;
  /** A page of who is online (answer to `presenceList`). */
  presenceList?(frame: Extract<ServerFrame, { type: 'presence_list' }>): void;
  typing?(user: UserRef): void;
  moderation?(frame: Extract<ServerFrame, { type: 'moderation' }>): void;
  archived?(archived: boolean): void;
  /** Your read pointer moved (this or another tab/device). */
  read?(seq: number): void;
  /** Your `react` was committed (its state is now `frame.on`). */
  reacted?(frame: Extract<ServerFrame, { type: 'reacted' }>): void;
  /** An admin removed you: the room is no longer watched (its unsent messages are dropped). */
  removed?(): void;
  /** An error about this room (`ref`: the clientId of a refused send). */
  error?(code: string, message: string, ref?: string, retryInMs?: number): void;
}

export interface ConnectionEvents {
  state(state: ConnectionState, detail: StateDetail): void;
  hello?(user: UserRef, limits: { maxMessageBytes: number; maxFrameBytes: number } | undefined): void;
  /** A conversation of yours was added/removed/updated (possibly one you do not watch). */
  conversation?(room: number, change: 'added' | 'removed' | 'updated'): void;
  /** Every error frame (room-specific ones also go to the room's `error`). */
  error?(code: string, message: string, ref?: string, room?: number): void;
}

export interface ChatConnectionOptions {
  /** WebSocket constructor (default: the browser's). */
  WebSocketImpl?: typeof WebSocket;
  /** Fetch a chat token (default: GET /api/chat-token with the session cookie); resolve null when signed out. */
  fetchToken?: () => Promise<string | null>;
  /** The socket URL for each attempt (default: the configured URL, else this page's host + /socket). */
  url?: () => string;
  /** Random source for the backoff jitter (tests). */
  random?: () => number;
  /** Longest reconnect delay (default 30 s). */
  maxBackoffMs?: number;
  /**
   * Application ping: when nothing arrived for this long, ping; give up on the socket after twice as
   * long without any frame. Default: off (then the server's heartbeat interval drives a slow watchdog).
   */
  pingEveryMs?: number;
}

interface Outgoing {
  clientId: string;
  room: number;
  body: string;
  /** The seq this message replies to. */
  replyTo?: number;
  /** Ids of uploaded files sent with it. */
  attachments?: string[];
  retryTimer?: ReturnType<typeof setTimeout>;
}

interface WatchedRoom {
  id: number;
  handlers: RoomHandlers;
  /** Highest seq handed to `message`; the next one must be lastSeq + 1. */
  lastSeq: number | undefined;
  /** Highest message `version` seen (edits/deletes), for `sinceVersion` on resume. */
  maxVersion: number;
  /** After a (re)join, frames of the old subscription are ignored until the new `joined`. */
  awaitingJoin: boolean;
  /** Caught up on the current socket (sends go out directly). */
  live: boolean;
  /** Highest seq we asked the server to mark read (re-sent after a reconnect). */
  readWanted: number;
  /** Presence from the snapshot and diffs of the current subscription. */
  presence: PresenceView;
}

/** Errors after which a send is worth retrying as is; any other error for a send is final. */
const RETRYABLE = new Set(['rate_limited', 'unavailable', 'internal']);
const OPEN = 1;

function sendFrame(out: Outgoing): ClientFrame {
  const frame: ClientFrame & { type: 'send' } = { type: 'send', room: out.room, clientId: out.clientId, body: out.body };
  if (out.replyTo !== undefined) frame.replyTo = out.replyTo;
  if (out.attachments?.length) frame.attachments = out.attachments;
  return frame;
}

export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ChatConnection {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private readonly rooms = new Map<number, WatchedRoom>();
  private readonly outbox = new Map<string, Outgoing>();
  private stopped = false;
  private started = false;
  private everOpen = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private pingSentAt = 0;
  private helloDone = false;
  /** Highest message version seen in any room (versions are global control event ids). */
  private maxVersionSeen = 0;
  /** parley.v2 frames back into the version 1 frames handled below; holds the user profiles sent. */
  private readonly v2 = new V2Decoder();
  me: UserRef | null = null;
  state: ConnectionState = 'connecting';
  /** Times a room was rejoined because its stream had a gap (should stay 0; tests check it). */
  gapsRepaired = 0;
  private readonly onOnline = () => this.reconnectNow();
  private readonly onOffline = () => {
    if (this.ws) this.abandon(this.ws, { offline: true });
  };

  constructor(
    private readonly configuredUrl: string,
    private readonly on: ConnectionEvents,
    private readonly options: ChatConnectionOptions = {},
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      window.addEventListener('online', this.onOnline);
      window.addEventListener('offline', this.onOffline);
    }
  }

  /** Stop for good (tests; leaving the page does it implicitly). */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    for (const out of this.outbox.values()) if (out.retryTimer) clearTimeout(out.retryTimer);
    if (typeof window !== 'undefined' && typeof window.removeEventListener === 'function') {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    }
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'bye');
  }

  /** Start receiving a room (joins at once when connected, and on every reconnect). */
  watch(roomId: number, handlers: RoomHandlers): void {
    const existing = this.rooms.get(roomId);
    if (existing) {
      existing.handlers = handlers;
      return;
    }
    const room: WatchedRoom = { id: roomId, handlers, lastSeq: undefined, maxVersion: 0, awaitingJoin: false, live: false, readWanted: 0, presence: new PresenceView() };
    this.rooms.set(roomId, room);
    if (this.helloDone && this.ws?.readyState === OPEN) this.join(room);
  }

  /** Stop receiving a room; its unsent messages are dropped. */
  unwatch(roomId: number): void {
    if (!this.rooms.delete(roomId)) return;
    for (const [id, out] of this.outbox) {
      if (out.room !== roomId) continue;
      if (out.retryTimer) clearTimeout(out.retryTimer);
      this.outbox.delete(id);
    }
    if (this.ws?.readyState === OPEN && this.helloDone) this.ws.send(JSON.stringify({ type: 'leave', room: roomId } satisfies ClientFrame));
  }

  watching(roomId: number): boolean {
    return this.rooms.has(roomId);
  }

  send(roomId: number, body: string, clientId = newClientId(), replyTo?: number, attachments?: string[]): string {
    if (this.stopped || !this.rooms.has(roomId)) return clientId;
    const out: Outgoing = { clientId, room: roomId, body };
    if (replyTo !== undefined) out.replyTo = replyTo;
    if (attachments?.length) out.attachments = attachments;
    this.outbox.set(clientId, out);
    if (this.rooms.get(roomId)!.live) this.transmit(sendFrame(out));
    return clientId;
  }

  /** Set or clear your reaction (idempotent: a repeated frame does no harm). Dropped while offline: ChatStore keeps it until `reacted`. */
  react(roomId: number, seq: number, emoji: string, on: boolean): void {
    this.transmit({ type: 'react', room: roomId, seq, emoji, on });
  }

  /** Forget an unsent message (the user discarded it). */
  discard(clientId: string): void {
    const out = this.outbox.get(clientId);
    if (out?.retryTimer) clearTimeout(out.retryTimer);
    this.outbox.delete(clientId);
  }

  edit(roomId: number, seq: number, body: string): void {
    this.transmit({ type: 'edit', room: roomId, seq, body });
  }

  remove(roomId: number, seq: number): void {
    this.transmit({ type: 'delete', room: roomId, seq });
  }

  typing(roomId: number): void {
    this.transmit({ type: 'typing', room: roomId });
  }

  loadOlder(roomId: number, beforeSeq: number, limit = 50): void {
    this.transmit({ type: 'history', room: roomId, beforeSeq, limit });
  }

  /** The page just after `afterSeq` (paging forward from an older window towards the live end). */
  loadNewer(roomId: number, afterSeq: number, limit = 50): void {
    this.transmit({ type: 'history', room: roomId, afterSeq, limit });
  }

  /** A window of `limit` messages around `seq` (opening a room at a search result). */
  loadAround(roomId: number, seq: number, limit = 100): void {
    this.transmit({ type: 'history', room: roomId, aroundSeq: seq, limit });
  }

  /** A page of who is online in a joined room, by handle after `after` (answered to `presenceList`). */
  presenceList(roomId: number, after?: string, limit = 100): void {
    this.transmit({ type: 'presence_list', room: roomId, limit, ...(after === undefined ? {} : { after }) });
  }

  /** Mark a room read up to `seq` (the server never moves it backwards; re-sent after a reconnect). */
  markRead(roomId: number, seq: number): void {
    const room = this.rooms.get(roomId);
    if (!room || seq <= room.readWanted) return;
    room.readWanted = seq;
    if (room.live) this.transmit({ type: 'read', room: roomId, seq });
  }

  pendingCount(roomId?: number): number {
    if (roomId === undefined) return this.outbox.size;
    let n = 0;
    for (const out of this.outbox.values()) if (out.room === roomId) n++;
    return n;
  }

  isPending(clientId: string): boolean {
    return this.outbox.has(clientId);
  }

  /** The last seq shown for a room (undefined before its first join). */
  seenSeq(roomId: number): number | undefined {
    return this.rooms.get(roomId)?.lastSeq;
  }

  private transmit(frame: ClientFrame): void {
    if (this.ws?.readyState === OPEN && this.helloDone) this.ws.send(JSON.stringify(frame));
    // Otherwise: sends stay in the outbox and go out after the next resume; other frames are dropped.
  }

  private setState(state: ConnectionState, detail: StateDetail = {}): void {
    this.state = state;
    this.on.state(state, detail);
  }

  private socketUrl(): string {
    if (this.options.url) return this.options.url();
    if (this.configuredUrl) return this.configuredUrl;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${SOCKET_PATH}`;
  }

  private async fetchToken(): Promise<string | null> {
    if (this.options.fetchToken) return this.options.fetchToken();
    const res = await fetch('/api/chat-token', { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (res.status === 401) return null;
    if (!res.ok) throw new Error(`token request failed: ${res.status}`);
    return ((await res.json()) as { token: string }).token;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.everOpen || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let token: string | null;
    try {
      token = await this.fetchToken();
    } catch {
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    if (token === null) {
      this.stopped = true;
      this.setState('signed-out', { reason: 'Your session has ended. Log in again.' });
      return;
    }
    let ws: WebSocket;
    try {
      const Impl = this.options.WebSocketImpl ?? WebSocket;
      ws = new Impl(this.socketUrl(), [SUBPROTOCOL_V2, SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]);
    } catch {
      return this.scheduleReconnect();
    }
    this.ws = ws;
    this.helloDone = false;
    for (const room of this.rooms.values()) room.live = false;
    this.lastFrameAt = Date.now();
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      let frame: ServerFrame | null;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch {
        return;
      }
      // The server picked the version (an older server answers parley.v1).
      if (ws.protocol === SUBPROTOCOL_V2) frame = this.v2.decode(frame as ServerFrameV2);
      if (frame) this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.helloDone = false;
      if (this.watchdog) clearInterval(this.watchdog);
      if (event.code === CloseCode.SessionRevoked) {
        this.stopped = true;
        this.setState('revoked', { reason: event.reason || 'You were signed out.' });
        return;
      }
      // A deploy (1012) or a token problem: come back soon (still jittered). Otherwise back off.
      if (event.code === CloseCode.TokenInvalid || event.code === CloseCode.ServiceRestart) this.attempt = 0;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(detail: StateDetail = {}): void {
    if (this.stopped) return;
    // Full jitter: spreads a whole replica's clients over the window instead of a synchronized storm.
    const cap = Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(this.attempt, 10));
    const delay = Math.floor((this.options.random ?? Math.random)() * cap) + (this.attempt === 0 ? 100 : 0);
    this.attempt++;
    const offline = detail.offline ?? (typeof navigator !== 'undefined' && navigator.onLine === false);
    this.setState('reconnecting', { retryInMs: delay, ...(offline ? { offline: true } : {}) });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private reconnectNow(): void {
    if (this.stopped || this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  /** Give up on a socket that went silent (or the network went away) and reconnect. */
  private abandon(ws: WebSocket, detail: StateDetail = {}): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.helloDone = false;
    if (this.watchdog) clearInterval(this.watchdog);
    try {
      ws.close(4000, 'no traffic');
    } catch {
      // already closing
    }
    this.scheduleReconnect(detail);
  }

  private startWatchdog(heartbeatMs: number): void {
    if (this.watchdog) clearInterval(this.watchdog);
    const ws = this.ws;
    const pingAfter = this.options.pingEveryMs ?? heartbeatMs;
    const deadAfter = this.options.pingEveryMs ? this.options.pingEveryMs * 2 + 500 : heartbeatMs * 2 + 5_000;
    const every = this.options.pingEveryMs ? Math.max(250, Math.floor(this.options.pingEveryMs / 4)) : Math.max(1_000, Math.floor(heartbeatMs / 2));
    this.watchdog = setInterval(() => {
      if (!ws || this.ws !== ws) return;
      const now = Date.now();
      const silent = now - this.lastFrameAt;
      if (silent > deadAfter) return this.abandon(ws);
      if (silent > pingAfter && now - this.pingSentAt > pingAfter && ws.readyState === OPEN) {
        this.pingSentAt = now;
        ws.send(JSON.stringify({ type: 'ping' } satisfies ClientFrame));
      }
    }, every);
  }

  private join(room: WatchedRoom): void {
    // A fresh join shows the room as of now: every change with a version (a global, commit-ordered
    // control event id) already seen anywhere is in it. So resuming may start there, not at 0.
    if (room.lastSeq === undefined) room.maxVersion = Math.max(room.maxVersion, this.maxVersionSeen);
    room.awaitingJoin = true;
    room.live = false;
    const resume = room.lastSeq !== undefined ? { sinceSeq: room.lastSeq, sinceVersion: room.maxVersion } : {};
    room.presence.reset();
    // Presence as a snapshot then diffs (counts only in big rooms), not the whole list on every change.
    this.ws?.send(JSON.stringify({ type: 'join', room: room.id, ...resume, presence: 'diff' } satisfies ClientFrame));
  }

  private rejoin(room: WatchedRoom): void {
    this.gapsRepaired++;
    this.join(room);
  }

  private resendOutbox(roomId: number): void {
    for (const out of this.outbox.values()) {
      if (out.room !== roomId) continue;
      if (out.retryTimer) {
        clearTimeout(out.retryTimer);
        out.retryTimer = undefined;
      }
      this.ws?.send(JSON.stringify(sendFrame(out)));
    }
  }

  /** Open once every room watched at connect time has caught up (rooms watched later join on their own). */
  private maybeOpen(): void {
    if (this.state === 'open' || !this.helloDone) return;
    for (const room of this.rooms.values()) if (!room.live) return;
    this.attempt = 0;
    this.everOpen = true;
    this.setState('open');
  }

  private noteVersion(room: WatchedRoom, message: ChatMessage): void {
    if (message.version === undefined) return;
    if (message.version > room.maxVersion) room.maxVersion = message.version;
    if (message.version > this.maxVersionSeen) this.maxVersionSeen = message.version;
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.me = frame.user;
        this.helloDone = true;
        this.startWatchdog(frame.heartbeatMs);
        this.on.hello?.(frame.user, frame.limits);
        for (const room of this.rooms.values()) this.join(room);
        this.maybeOpen();
        return;
      case 'joined': {
        const room = this.rooms.get(frame.room.id);
        if (!room) return;
        room.awaitingJoin = false;
        // The stream continues right after `resumedFrom`; before the first join, that is where we start.
        if (room.lastSeq === undefined && frame.resumedFrom !== null) room.lastSeq = frame.resumedFrom;
        room.handlers.joined?.(frame.room, frame.lastSeq, frame.resumedFrom);
        return;
      }
      case 'message': {
        const room = this.rooms.get(frame.room);
        if (!room || room.awaitingJoin) return;
        const seq = frame.message.seq;
        if (room.lastSeq !== undefined && seq <= room.lastSeq) return; // already shown
        if (room.lastSeq !== undefined && seq !== room.lastSeq + 1) {
          // A hole in the stream: never show messages out of order; resume from what we have.
          this.rejoin(room);
          return;
        }
        room.lastSeq = seq;
        this.noteVersion(room, frame.message);
        if (frame.message.author.id === this.me?.id) this.settle(frame.message.clientId);
        room.handlers.message?.(frame.message, room.live);
        return;
      }
      case 'caught_up': {
        const room = this.rooms.get(frame.room);
        if (!room || room.awaitingJoin) return;
        if (room.lastSeq === undefined || frame.seq > room.lastSeq) {
          // Everything up to frame.seq should have arrived: if not, fetch it again.
          if (room.lastSeq !== undefined && frame.seq > room.lastSeq) return this.rejoin(room);
          room.lastSeq = frame.seq;
        }
        room.live = true;
        this.maybeOpen();
        room.handlers.caughtUp?.(frame.seq);
        // Resend whatever was not acknowledged before the connection dropped; duplicates are ignored server-side.
        this.resendOutbox(room.id);
        if (room.readWanted > 0) this.transmit({ type: 'read', room: room.id, seq: room.readWanted });
        return;
      }
      case 'ack': {
        const room = this.outbox.get(frame.clientId)?.room ?? frame.room;
        this.settle(frame.clientId);
        this.rooms.get(room)?.handlers.ack?.(frame.clientId, frame.seq);
        return;
      }
      case 'updated': {
        const room = this.rooms.get(frame.room);
        if (!room) return;
        this.noteVersion(room, frame.message);
        room.handlers.updated?.(frame.message);
        return;
      }
      case 'history': {
        const room = this.rooms.get(frame.room);
        if (!room) return;
        for (const m of frame.messages) this.noteVersion(room, m);
        room.handlers.history?.(frame.messages, frame.hasMore, frame);
        return;
      }
      case 'presence':
      case 'presence_diff': {
        const room = this.rooms.get(frame.room);
        if (!room || room.awaitingJoin) return;
        room.presence.apply(frame);
        room.handlers.presence?.(room.presence.list(), room.presence.count, room.presence.listed);
        return;
      }
      case 'presence_list':
        this.rooms.get(frame.room)?.handlers.presenceList?.(frame);
        return;
      case 'typing':
        this.rooms.get(frame.room)?.handlers.typing?.(frame.user);
        return;
      case 'moderation':
        for (const room of this.rooms.values()) if (frame.room === null || frame.room === room.id) room.handlers.moderation?.(frame);
        return;
      case 'archived':
        this.rooms.get(frame.room)?.handlers.archived?.(frame.archived);
        return;
      case 'read':
        this.rooms.get(frame.room)?.handlers.read?.(frame.seq);
        return;
      case 'conversation':
        this.on.conversation?.(frame.room, frame.change);
        return;
      case 'reacted':
        this.rooms.get(frame.room)?.handlers.reacted?.(frame);
        return;
      case 'left': {
        const room = this.rooms.get(frame.room);
        if (room && frame.reason === 'removed') {
          // No access any more: resending its outbox or rejoining would only be refused.
          this.rooms.delete(room.id);
          for (const [id, out] of this.outbox) if (out.room === room.id) this.discard(id);
          room.handlers.removed?.();
        }
        return;
      }
      case 'error': {
        const out = frame.ref ? this.outbox.get(frame.ref) : undefined;
        if (out && frame.ref) {
          if (RETRYABLE.has(frame.code)) this.retryLater(frame.ref, frame.retryInMs ?? 1_000);
          else this.settle(frame.ref);
        }
        const roomId = out?.room ?? frame.room;
        this.on.error?.(frame.code, frame.message, frame.ref, roomId);
        if (roomId !== undefined) this.rooms.get(roomId)?.handlers.error?.(frame.code, frame.message, frame.ref, frame.retryInMs);
        return;
      }
      default:
        return;
    }
  }

  private settle(clientId: string): void {
    const out = this.outbox.get(clientId);
    if (!out) return;
    if (out.retryTimer) clearTimeout(out.retryTimer);
    this.outbox.delete(clientId);
  }

  private retryLater(clientId: string, afterMs: number): void {
    const out = this.outbox.get(clientId);
    if (!out || out.retryTimer) return;
    out.retryTimer = setTimeout(() => {
      out.retryTimer = undefined;
      if (this.outbox.get(clientId) === out && this.rooms.get(out.room)?.live) this.transmit(sendFrame(out));
    }, Math.min(Math.max(afterMs, 50), 30_000));
  }
}
