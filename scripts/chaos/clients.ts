// The chaos run's users: N browser chat clients (the real ChatClient of apps/admin, driven under Node
// with `ws`) spread over a few rooms, each sending unique bodies at a steady rate, resuming after every
// reconnect and resending what was not acknowledged. Every frame the server sends is checked as it
// arrives (after `joined`, a room's messages must come exactly in seq order). `breakIdempotency`
// makes the clients resend with a new client id (what a careless client would do) so a run can show
// that the checker catches the duplicates that follow.
import WebSocket from 'ws';
import { type AckFrameV2, type ChatMessage, type ServerFrame, type ServerFrameV2, SUBPROTOCOL_V2, V2Decoder } from '@parley/protocol';
import { ChatClient } from '../../apps/admin/src/client/chat-client.ts';

export interface FleetClientOptions {
  index: number;
  userId: number;
  roomId: number;
  url: () => string;
  token: () => Promise<string>;
  breakIdempotency: boolean;
}

export class FleetClient {
  readonly delivered: ChatMessage[] = [];
  /** Every body this client sent (each unique), in order. */
  readonly sentBodies: string[] = [];
  /** client id → body. */
  readonly bodyOf = new Map<string, string>();
  /** client id → acked seq. */
  readonly acked = new Map<string, number>();
  /** Problems in the raw stream the server sent (gap, duplicate or reorder after `joined`). */
  readonly streamProblems: string[] = [];
  readonly errors = new Map<string, number>();
  reconnects = 0;
  private sent = 0;
  private socket: WebSocket | null = null;
  private readonly client: ChatClient;

  constructor(readonly opts: FleetClientOptions) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fleet = this;
    let renamed = 0;
    const original = new Map<string, string>();
    class ChaosSocket extends WebSocket {
      private expected: number | null = null;
      /** The client speaks parley.v2: frames are checked in their version 1 form. */
      private readonly decoder = new V2Decoder();

      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        fleet.socket = this;
        fleet.reconnects++;
        this.on('error', () => undefined);
      }

      override send(data: unknown): void {
        if (fleet.opts.breakIdempotency && typeof data === 'string' && data.startsWith('{"type":"send"')) {
          const frame = JSON.parse(data) as { clientId: string };
          const fresh = `${frame.clientId.split('_')[0]}_${renamed++}`;
          original.set(fresh, frame.clientId);
          frame.clientId = fresh;
          data = JSON.stringify(frame);
        }
        super.send(data as string);
      }

      /** Check the stream and, when idempotency is broken, map acks back to the ids the client knows. */
      inspect(raw: string): string {
        const parsed = JSON.parse(raw) as ServerFrame;
        const v2 = this.protocol === SUBPROTOCOL_V2;
        const frame = v2 ? this.decoder.decode(parsed as ServerFrameV2) : parsed;
        if (!frame) return raw;
        if (frame.type === 'joined') this.expected = (frame.resumedFrom ?? 0) + 1;
        else if (frame.type === 'message' && frame.room === fleet.opts.roomId) {
          if (this.expected !== null && frame.message.seq !== this.expected) fleet.streamProblems.push(`got seq ${frame.message.seq}, expected ${this.expected}`);
          this.expected = frame.message.seq + 1;
        }
        if (fleet.opts.breakIdempotency && (frame.type === 'ack' || frame.type === 'error')) {
          const key = frame.type === 'ack' ? frame.clientId : frame.ref;
          const known = key === undefined ? undefined : original.get(key);
          if (known !== undefined) {
            if (parsed.type === 'ack' && v2) (parsed as unknown as AckFrameV2).c = known;
            else if (parsed.type === 'ack') parsed.clientId = known;
            else if (parsed.type === 'error') parsed.ref = known;
            return JSON.stringify(parsed);
          }
        }
        return raw;
      }
    }
    // ChatClient assigns ws.onmessage: wrap it so every frame passes `inspect` first.
    Object.defineProperty(ChaosSocket.prototype, 'onmessage', {
      set(this: ChaosSocket, handler: ((ev: { data: unknown }) => void) | null) {
        this.removeAllListeners('message');
        if (handler) this.on('message', (data) => handler({ data: this.inspect((data as Buffer).toString()) }));
      },
    });
    this.client = new ChatClient(opts.roomId, '', {
      state: () => undefined,
      message: (m) => this.delivered.push(m),
      updated: () => undefined,
      history: () => undefined,
      ack: (clientId, seq) => this.acked.set(clientId, seq),
      presence: () => undefined,
      typing: () => undefined,
      error: (code) => this.errors.set(code, (this.errors.get(code) ?? 0) + 1),
      joined: () => undefined,
      caughtUp: () => undefined,
    }, {
      WebSocketImpl: ChaosSocket as unknown as typeof globalThis.WebSocket,
      fetchToken: opts.token,
      url: opts.url,
      maxBackoffMs: 2_000,
    });
  }

  start(): void {
    this.client.start();
  }

  stop(): void {
    this.client.stop();
  }

  /** Send the next message (queued in the client's outbox while disconnected). */
  sendNext(): void {
    const body = `c${this.opts.index}-m${this.sent++}`;
    this.sentBodies.push(body);
    this.bodyOf.set(this.client.send(body), body);
  }

  /**
   * A network cut right after a send: the frame is on the wire but the ack can never arrive, so the
   * message is stored without the client knowing; after reconnecting it must not be stored twice.
   */
  sendAndCut(): void {
    this.sendNext();
    this.socket?.terminate();
  }

  ackedBodies(): Set<string> {
    return new Set([...this.acked.keys()].map((id) => this.bodyOf.get(id)!));
  }

  get pending(): number {
    return this.client.pendingCount();
  }

  get lastSeq(): number {
    return this.client.seenSeq() ?? 0;
  }

  get state(): string {
    return this.client.state;
  }
}
