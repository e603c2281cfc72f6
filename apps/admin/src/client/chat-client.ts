// One room over its own connection: the single-room face of ChatConnection (chat-connection.ts), kept
// for tests and tools that follow one room. The web client uses ChatConnection directly (one socket,
// every conversation of the sidebar).
//
// Guarantees (from ChatConnection): messages are handed to `message` exactly once each and strictly in
// seq order (a gap makes it rejoin from its last seq instead of showing a hole); a message stays in the
// outbox until the server acked it or it came back in the stream (then a resend is harmless).
import type { ChatMessage, ServerFrame, UserRef } from '@parley/protocol';
import { ChatConnection, type ChatConnectionOptions, type ConnectionState } from './chat-connection.ts';

export { newClientId, type ConnectionState } from './chat-connection.ts';

export interface ChatClientEvents {
  state(state: ConnectionState, detail: { retryInMs?: number; reason?: string; offline?: boolean }): void;
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

export type ChatClientOptions = ChatConnectionOptions;

export class ChatClient {
  private readonly connection: ChatConnection;

  constructor(
    private readonly roomId: number,
    configuredUrl: string,
    on: ChatClientEvents,
    options: ChatClientOptions = {},
  ) {
    this.connection = new ChatConnection(configuredUrl, {
      state: (state, detail) => on.state(state, detail),
      error: (code, message, ref, room) => {
        if (room === undefined || room === roomId) on.error(code, message, ref);
      },
    }, options);
    this.connection.watch(roomId, {
      joined: (_room, lastSeq, resumedFrom) => on.joined(lastSeq, resumedFrom),
      message: (m, live) => on.message(m, live),
      caughtUp: (seq) => on.caughtUp(seq),
      updated: (m) => on.updated(m),
      history: (messages, hasMore) => on.history(messages, hasMore),
      ack: (clientId, seq) => on.ack(clientId, seq),
      presence: (users, count) => on.presence(users, count),
      typing: (user) => on.typing(user),
      moderation: (frame) => on.moderation?.(frame),
      archived: (archived) => on.archived?.(archived),
      removed: () => {
        // No access any more: stop for good (resending the outbox or rejoining would only be refused).
        this.connection.stop();
        on.removed?.();
      },
    });
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Times the client rejoined because the stream had a gap (should stay 0; tests check it). */
  get gapsRepaired(): number {
    return this.connection.gapsRepaired;
  }

  start(): void {
    this.connection.start();
  }

  /** Stop for good (tests; leaving the page does it implicitly). */
  stop(): void {
    this.connection.stop();
  }

  send(body: string): string {
    return this.connection.send(this.roomId, body);
  }

  edit(seq: number, body: string): void {
    this.connection.edit(this.roomId, seq, body);
  }

  remove(seq: number): void {
    this.connection.remove(this.roomId, seq);
  }

  typing(): void {
    this.connection.typing(this.roomId);
  }

  loadOlder(beforeSeq: number): void {
    this.connection.loadOlder(this.roomId, beforeSeq);
  }

  pendingCount(): number {
    return this.connection.pendingCount();
  }

  /** The last seq this client has shown (undefined before the first join). */
  seenSeq(): number | undefined {
    return this.connection.seenSeq(this.roomId);
  }
}
