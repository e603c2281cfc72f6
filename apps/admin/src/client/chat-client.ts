// The browser's chat connection: fetches a short-lived token from the panel, connects, resumes the room
// from the last seq it saw, resends unacked messages (same client ids, so the server stores each once),
// and reconnects with jittered exponential backoff. UI-free: room.ts renders its events.
//
// Guarantees it keeps (and checks): messages are handed to `message` exactly once each and strictly in
// seq order (a gap makes it rejoin from its last seq instead of showing a hole); a message stays in the
// outbox until the server acked it or it came back in the stream (then a resend is harmless).
// Also runs under Node (tests) with `options.WebSocketImpl` (the `ws` package) and `options.fetchToken`.
import {
  CloseCode, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, SOCKET_PATH,
  type ChatMessage, type ClientFrame, type ServerFrame, type UserRef,
} from '@parley/protocol';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'revoked' | 'signed-out';

export interface ChatClientEvents {
  state(state: ConnectionState, detail: { retryInMs?: number; reason?: string }): void;
  message(message: ChatMessage, live: boolean): void;
  updated(message: ChatMessage): void;
  history(messages: ChatMessage[], hasMore: boolean): void;
  ack(clientId: string, seq: number): void;
  /** `users`: the first ones by handle (the server caps the list); `count`: how many are online in all. */
  presence(users: UserRef[], count: number): void;
  typing(user: UserRef): void;
  error(code: string, message: string, ref?: string): void;
  joined(lastSeq: number, resumedFrom: number | null): void;
  caughtUp(seq: number): void;
  /** A moderator muted/unmuted/banned someone in this room (or everywhere: room null). Optional. */
  moderation?(frame: Extract<ServerFrame, { type: 'moderation' }>): void;
  /** The room was archived (read-only) or unarchived while open. Optional. */
  archived?(archived: boolean): void;
  /** An admin removed you from the room: the client has stopped (a reconnect would be refused). Optional. */
  removed?(): void;
}

export interface ChatClientOptions {
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
}

interface Outgoing {
  clientId: string;
  body: string;
  retryTimer?: ReturnType<typeof setTimeout>;
}

/** Errors after which a send is worth retrying as is; any other error for a send is final. */
const RETRYABLE = new Set(['rate_limited', 'unavailable', 'internal']);
const OPEN = 1;

export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ChatClient {
  private ws: WebSocket | null = null;
  private attempt = 0;
  /** Highest seq handed to `message`; the next one must be lastSeq + 1. */
  private lastSeq: number | undefined;
  private readonly outbox = new Map<string, Outgoing>();
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private me: UserRef | null = null;
  state: ConnectionState = 'connecting';
  /** Times the client rejoined because the stream had a gap (should stay 0; tests check it). */
  gapsRepaired = 0;
  /** After a rejoin, frames of the old subscription are ignored until the new `joined`. */
  private awaitingJoin = false;

  constructor(
    private readonly roomId: number,
    private readonly configuredUrl: string,
    private readonly on: ChatClientEvents,
    private readonly options: ChatClientOptions = {},
  ) {}

  start(): void {
    void this.connect();
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      window.addEventListener('online', () => this.reconnectNow());
    }
  }

  /** Stop for good (tests; leaving the page does it implicitly). */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    for (const out of this.outbox.values()) if (out.retryTimer) clearTimeout(out.retryTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'bye');
  }

  send(body: string): string {
    const clientId = newClientId();
    this.outbox.set(clientId, { clientId, body });
    this.transmit({ type: 'send', room: this.roomId, clientId, body });
    return clientId;
  }

  edit(seq: number, body: string): void {
    this.transmit({ type: 'edit', room: this.roomId, seq, body });
  }

  remove(seq: number): void {
    this.transmit({ type: 'delete', room: this.roomId, seq });
  }

  typing(): void {
    this.transmit({ type: 'typing', room: this.roomId });
  }

  loadOlder(beforeSeq: number): void {
    this.transmit({ type: 'history', room: this.roomId, beforeSeq, limit: 50 });
  }

  pendingCount(): number {
    return this.outbox.size;
  }

  /** The last seq this client has shown (undefined before the first join). */
  seenSeq(): number | undefined {
    return this.lastSeq;
  }

  private transmit(frame: ClientFrame): void {
    if (this.ws?.readyState === OPEN && this.state === 'open') this.ws.send(JSON.stringify(frame));
    // Otherwise: sends stay in the outbox and go out after the next resume; other frames are dropped.
  }

  private setState(state: ConnectionState, detail: { retryInMs?: number; reason?: string } = {}): void {
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
    this.setState(this.attempt === 0 && this.lastSeq === undefined ? 'connecting' : 'reconnecting');
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
      ws = new Impl(this.socketUrl(), [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]);
    } catch {
      return this.scheduleReconnect();
    }
    this.ws = ws;
    this.lastFrameAt = Date.now();
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
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

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // Full jitter: spreads a whole replica's clients over the window instead of a synchronized storm.
    const cap = Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(this.attempt, 10));
    const delay = Math.floor((this.options.random ?? Math.random)() * cap) + (this.attempt === 0 ? 100 : 0);
    this.attempt++;
    this.setState('reconnecting', { retryInMs: delay });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private reconnectNow(): void {
    if (this.stopped || this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  /** Give up on a socket that went silent (browsers cannot see the server's pings) and reconnect. */
  private abandon(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.watchdog) clearInterval(this.watchdog);
    try {
      ws.close(4000, 'no traffic');
    } catch {
      // already closing
    }
    this.scheduleReconnect();
  }

  private startWatchdog(heartbeatMs: number): void {
    if (this.watchdog) clearInterval(this.watchdog);
    const ws = this.ws;
    const every = Math.max(1_000, Math.floor(heartbeatMs / 2));
    this.watchdog = setInterval(() => {
      if (!ws || this.ws !== ws) return;
      const silent = Date.now() - this.lastFrameAt;
      if (silent > heartbeatMs * 2 + 5_000) return this.abandon(ws);
      if (silent > heartbeatMs && ws.readyState === OPEN) ws.send(JSON.stringify({ type: 'ping' } satisfies ClientFrame));
    }, every);
  }

  private rejoin(): void {
    this.gapsRepaired++;
    this.awaitingJoin = true;
    this.ws?.send(JSON.stringify({ type: 'join', room: this.roomId, ...(this.lastSeq !== undefined ? { sinceSeq: this.lastSeq } : {}) } satisfies ClientFrame));
  }

  private resendOutbox(): void {
    for (const out of this.outbox.values()) {
      if (out.retryTimer) {
        clearTimeout(out.retryTimer);
        out.retryTimer = undefined;
      }
      this.ws?.send(JSON.stringify({ type: 'send', room: this.roomId, clientId: out.clientId, body: out.body } satisfies ClientFrame));
    }
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.me = frame.user;
        this.awaitingJoin = false;
        this.startWatchdog(frame.heartbeatMs);
        this.ws?.send(JSON.stringify({ type: 'join', room: this.roomId, ...(this.lastSeq !== undefined ? { sinceSeq: this.lastSeq } : {}) } satisfies ClientFrame));
        return;
      case 'joined':
        if (frame.room.id !== this.roomId) return;
        this.awaitingJoin = false;
        // The stream continues right after `resumedFrom`; before the first join, that is where we start.
        if (this.lastSeq === undefined && frame.resumedFrom !== null) this.lastSeq = frame.resumedFrom;
        this.on.joined(frame.lastSeq, frame.resumedFrom);
        return;
      case 'message': {
        if (frame.room !== this.roomId || this.awaitingJoin) return;
        const seq = frame.message.seq;
        if (this.lastSeq !== undefined && seq <= this.lastSeq) return; // already shown
        if (this.lastSeq !== undefined && seq !== this.lastSeq + 1) {
          // A hole in the stream: never show messages out of order; resume from what we have.
          this.rejoin();
          return;
        }
        this.lastSeq = seq;
        if (frame.message.author.id === this.me?.id) this.settle(frame.message.clientId);
        this.on.message(frame.message, this.state === 'open');
        return;
      }
      case 'caught_up':
        if (frame.room !== this.roomId || this.awaitingJoin) return;
        this.attempt = 0;
        if (this.lastSeq === undefined || frame.seq > this.lastSeq) {
          // Everything up to frame.seq should have arrived: if not, fetch it again.
          if (this.lastSeq !== undefined && frame.seq > this.lastSeq) return this.rejoin();
          this.lastSeq = frame.seq;
        }
        this.setState('open');
        this.on.caughtUp(frame.seq);
        // Resend whatever was not acknowledged before the connection dropped; duplicates are ignored server-side.
        this.resendOutbox();
        return;
      case 'ack':
        this.settle(frame.clientId);
        this.on.ack(frame.clientId, frame.seq);
        return;
      case 'updated':
        if (frame.room === this.roomId) this.on.updated(frame.message);
        return;
      case 'history':
        if (frame.room === this.roomId) this.on.history(frame.messages, frame.hasMore);
        return;
      case 'presence':
        if (frame.room === this.roomId) this.on.presence(frame.users, Math.max(frame.count ?? 0, frame.users.length));
        return;
      case 'typing':
        if (frame.room === this.roomId) this.on.typing(frame.user);
        return;
      case 'moderation':
        if (frame.room === null || frame.room === this.roomId) this.on.moderation?.(frame);
        return;
      case 'archived':
        if (frame.room === this.roomId) this.on.archived?.(frame.archived);
        return;
      case 'left':
        if (frame.room === this.roomId && frame.reason === 'removed') {
          // No access any more: stop for good (resending the outbox or rejoining would only be refused).
          this.stop();
          this.on.removed?.();
        }
        return;
      case 'error':
        if (frame.ref && this.outbox.has(frame.ref)) {
          if (RETRYABLE.has(frame.code)) {
            this.retryLater(frame.ref, frame.retryInMs ?? 1_000);
          } else {
            this.settle(frame.ref);
          }
        }
        this.on.error(frame.code, frame.message, frame.ref);
        return;
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
      if (this.outbox.get(clientId) === out) this.transmit({ type: 'send', room: this.roomId, clientId, body: out.body });
    }, Math.min(Math.max(afterMs, 50), 30_000));
  }
}
