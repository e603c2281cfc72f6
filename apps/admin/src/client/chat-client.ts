// The browser's chat connection: fetches a short-lived token from the panel, connects, resumes each
// room from the last seq it saw, resends unacked messages (same client ids, so the server stores each
// once), and reconnects with jittered exponential backoff. UI-free: room.ts renders its events.
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
  presence(users: UserRef[]): void;
  typing(user: UserRef): void;
  error(code: string, message: string, ref?: string): void;
  joined(lastSeq: number, resumedFrom: number | null): void;
  caughtUp(seq: number): void;
}

interface Outgoing {
  clientId: string;
  body: string;
}

export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ChatClient {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private lastSeq: number | undefined;
  private readonly outbox = new Map<string, Outgoing>();
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  state: ConnectionState = 'connecting';

  constructor(
    private readonly roomId: number,
    private readonly configuredUrl: string,
    private readonly on: ChatClientEvents,
  ) {}

  start(): void {
    void this.connect();
    window.addEventListener('online', () => this.reconnectNow());
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

  private transmit(frame: ClientFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN && this.state === 'open') this.ws.send(JSON.stringify(frame));
    // Otherwise: sends stay in the outbox and go out after the next resume; other frames are dropped.
  }

  private setState(state: ConnectionState, detail: { retryInMs?: number; reason?: string } = {}): void {
    this.state = state;
    this.on.state(state, detail);
  }

  private socketUrl(): string {
    if (this.configuredUrl) return this.configuredUrl;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${SOCKET_PATH}`;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      const res = await fetch('/api/chat-token', { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (res.status === 401) {
        this.stopped = true;
        this.setState('signed-out', { reason: 'Your session has ended. Log in again.' });
        return;
      }
      if (!res.ok) throw new Error(`token request failed: ${res.status}`);
      token = ((await res.json()) as { token: string }).token;
    } catch {
      return this.scheduleReconnect();
    }
    const ws = new WebSocket(this.socketUrl(), [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]);
    this.ws = ws;
    ws.onmessage = (event) => this.onFrame(JSON.parse(String(event.data)) as ServerFrame);
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === CloseCode.SessionRevoked) {
        this.stopped = true;
        this.setState('revoked', { reason: event.reason || 'You were signed out.' });
        return;
      }
      if (event.code === CloseCode.TokenInvalid) this.attempt = 0;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // Full jitter: spreads a whole replica's clients over the window instead of a synchronized storm.
    const cap = Math.min(30_000, 500 * 2 ** Math.min(this.attempt, 10));
    const delay = Math.floor(Math.random() * cap) + (this.attempt === 0 ? 100 : 0);
    this.attempt++;
    this.setState('reconnecting', { retryInMs: delay });
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private reconnectNow(): void {
    if (this.stopped || this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.ws?.send(JSON.stringify({ type: 'join', room: this.roomId, ...(this.lastSeq !== undefined ? { sinceSeq: this.lastSeq } : {}) } satisfies ClientFrame));
        return;
      case 'joined':
        this.on.joined(frame.lastSeq, frame.resumedFrom);
        return;
      case 'message':
        if (frame.room !== this.roomId) return;
        if (this.lastSeq !== undefined && frame.message.seq <= this.lastSeq) return; // already shown
        this.lastSeq = frame.message.seq;
        this.outbox.delete(frame.message.clientId);
        this.on.message(frame.message, this.state === 'open');
        return;
      case 'caught_up':
        this.attempt = 0;
        this.lastSeq = Math.max(this.lastSeq ?? 0, frame.seq);
        this.setState('open');
        this.on.caughtUp(frame.seq);
        // Resend whatever was not acknowledged before the connection dropped; duplicates are ignored server-side.
        for (const out of this.outbox.values()) this.ws?.send(JSON.stringify({ type: 'send', room: this.roomId, clientId: out.clientId, body: out.body } satisfies ClientFrame));
        return;
      case 'ack':
        this.outbox.delete(frame.clientId);
        this.on.ack(frame.clientId, frame.seq);
        return;
      case 'updated':
        this.on.updated(frame.message);
        return;
      case 'history':
        this.on.history(frame.messages, frame.hasMore);
        return;
      case 'presence':
        this.on.presence(frame.users);
        return;
      case 'typing':
        this.on.typing(frame.user);
        return;
      case 'error':
        if (frame.ref) this.outbox.delete(frame.ref);
        this.on.error(frame.code, frame.message, frame.ref);
        return;
      default:
        return;
    }
  }
}
