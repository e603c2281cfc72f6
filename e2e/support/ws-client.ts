// A Node WebSocket client speaking the Parley protocol, for tests and benchmarks.
import WebSocket from 'ws';
import { SUBPROTOCOL, SUBPROTOCOL_V2, TOKEN_SUBPROTOCOL_PREFIX, type ChatMessage, type ServerFrame, type ServerFrameV2, type ClientFrame, type UserRef, V2Decoder } from '@parley/protocol';
import { ChatClient, type ConnectionState } from '../../apps/admin/src/client/chat-client.ts';

export class TestSocket {
  readonly frames: ServerFrame[] = [];
  private waiters: Array<{ pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
    ws.on('error', () => undefined);
  }

  /** `opts.protocol`: the version offered (default parley.v1; frames are then recorded as the server sends them). */
  static open(url: string, token: string | null, opts: { origin?: string; localAddress?: string; protocol?: typeof SUBPROTOCOL | typeof SUBPROTOCOL_V2 } = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const offer = opts.protocol ?? SUBPROTOCOL;
      const protocols = token === null ? [offer] : [offer, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
      const ws = new WebSocket(url, protocols, { origin: opts.origin, localAddress: opts.localAddress });
      const sock = new TestSocket(ws);
      ws.once('open', () => resolve(sock));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  next<T extends ServerFrame['type']>(type: T, pred: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true, timeoutMs = 10_000): Promise<Extract<ServerFrame, { type: T }>> {
    const match = (f: ServerFrame) => f.type === type && pred(f as Extract<ServerFrame, { type: T }>);
    const existing = this.frames.find(match);
    if (existing) return Promise.resolve(existing as Extract<ServerFrame, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type} frame; got ${this.frames.map((f) => f.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred: match, resolve: (f) => { clearTimeout(timer); resolve(f as Extract<ServerFrame, { type: T }>); } });
    });
  }

  /** Forget frames seen so far (so `next` waits for new ones). */
  clear(): void {
    this.frames.length = 0;
  }

  waitClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push((c) => { clearTimeout(timer); resolve(c); });
    });
  }

  close(): void {
    this.ws.close();
  }

  /** Stop reading from the socket (a stuck or dead peer: no pongs, TCP backpressure builds up). */
  pauseReading(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resumeReading(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  /** Frames of one type seen so far. */
  all<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.frames.filter((f) => f.type === type) as Array<Extract<ServerFrame, { type: T }>>;
  }
}

// ---- a resilient client for multi-replica tests -----------------------------------------------------
// The browser's own ChatClient (apps/admin/src/client/chat-client.ts) driven under Node with `ws`, with
// every raw frame of every connection recorded, so tests can check what the server sent (not only what
// the client chose to show).

export interface RecordedConnection {
  url: string;
  frames: ServerFrame[];
  close: { code: number; reason: string } | null;
}

export interface ResilientClientOptions {
  roomId: number;
  /** The URL for each connection attempt (a stand-in for the load balancer). */
  url: () => string;
  token: () => Promise<string | null>;
  /** Longest reconnect backoff (default 1 s: tests want fast recovery, still jittered). */
  maxBackoffMs?: number;
}

export class ResilientClient {
  readonly connections: RecordedConnection[] = [];
  /** What the client handed to the UI, in order. */
  readonly delivered: ChatMessage[] = [];
  readonly acks = new Map<string, { seq: number; duplicate?: boolean }>();
  /** Client ids in the order they were sent. */
  readonly sent: string[] = [];
  readonly errors: Array<{ code: string; message: string; ref?: string }> = [];
  readonly states: ConnectionState[] = [];
  presence: UserRef[] = [];
  readonly client: ChatClient;

  constructor(opts: ResilientClientOptions) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    class RecordingWebSocket extends WebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        const rec: RecordedConnection = { url, frames: [], close: null };
        self.connections.push(rec);
        // The client speaks parley.v2: frames are recorded in their version 1 form (`users` frames left out).
        const decoder = new V2Decoder();
        this.on('message', (data) => {
          const frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
          const v1 = this.protocol === SUBPROTOCOL_V2 ? decoder.decode(frame as ServerFrameV2) : frame;
          if (v1) rec.frames.push(v1);
        });
        this.on('close', (code, reason) => {
          rec.close = { code, reason: reason.toString() };
        });
        this.on('error', () => undefined);
      }
    }
    this.client = new ChatClient(opts.roomId, '', {
      state: (s) => this.states.push(s),
      message: (m) => this.delivered.push(m),
      updated: () => undefined,
      history: () => undefined,
      ack: (clientId, seq) => this.acks.set(clientId, { seq }),
      presence: (users) => {
        this.presence = users;
      },
      typing: () => undefined,
      error: (code, message, ref) => this.errors.push({ code, message, ref }),
      joined: () => undefined,
      caughtUp: () => undefined,
    }, {
      WebSocketImpl: RecordingWebSocket as unknown as typeof globalThis.WebSocket,
      fetchToken: opts.token,
      url: opts.url,
      maxBackoffMs: opts.maxBackoffMs ?? 1_000,
    });
  }

  start(): this {
    this.client.start();
    return this;
  }

  stop(): void {
    this.client.stop();
  }

  send(body: string): string {
    const id = this.client.send(body);
    this.sent.push(id);
    return id;
  }

  get state(): ConnectionState {
    return this.client.state;
  }

  /** Seqs handed to the UI. */
  seqs(): number[] {
    return this.delivered.map((m) => m.seq);
  }

  /**
   * Problems in what the server sent on each connection: after each `joined` (resumedFrom r), the room's
   * message frames must be exactly r+1, r+2, ... (no gap, no duplicate, no reordering), and
   * `caught_up` must name the last one.
   */
  streamViolations(): string[] {
    const problems: string[] = [];
    this.connections.forEach((conn, i) => {
      let expected: number | null = null;
      for (const f of conn.frames) {
        if (f.type === 'joined') expected = (f.resumedFrom ?? 0) + 1;
        else if (f.type === 'message') {
          if (expected === null) problems.push(`conn ${i}: message ${f.message.seq} before joined`);
          else if (f.message.seq !== expected) problems.push(`conn ${i}: got seq ${f.message.seq}, expected ${expected}`);
          expected = f.message.seq + 1;
        } else if (f.type === 'caught_up' && expected !== null && f.seq !== expected - 1) {
          problems.push(`conn ${i}: caught_up ${f.seq} but last message was ${expected - 1}`);
        }
      }
    });
    return problems;
  }

  /** Poll until `pred` holds (bounded). */
  async waitUntil(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (state ${this.state}, pending ${this.client.pendingCount()}, last seq ${this.client.seenSeq()})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Poll until `pred` holds (bounded). */
export async function waitFor(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
