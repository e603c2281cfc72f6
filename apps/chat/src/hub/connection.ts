// One client WebSocket on this replica: its user, the rooms it joined, its frame queue (frames are
// handled one after another, in arrival order) and the guarded ways to write to it.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ChatTokenClaims } from '@parley/chat-token';
import type { Logger } from '@parley/logging';
import { type ErrorCode, type ServerFrame, type UserRef, CloseCode, SUBPROTOCOL_V2, usersOfFrame } from '@parley/protocol';
import { KnownUsers, SharedMessage, encodeV2, usersFrame } from './frames-v2.ts';
import type { Frame } from './room-state.ts';
import { corkUntilEndOfTick } from './socket-cork.ts';

/** Frames of one user waiting to be handled on this replica; more are refused with rate_limited. */
export const MAX_QUEUED_FRAMES = 512;

/**
 * The queue a user's frames are handled in, shared by all their sockets on this replica: frames are
 * handled one after another, in arrival order (a send right after a join sees the join), and one user
 * never has more than one frame handler (a database query) in flight here, however many sockets they
 * open. Sends only queue their write synchronously, so they do not hold the lane while committing.
 */
export class FrameLane {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  /** Queue work behind the user's earlier frames; false if too much is queued. */
  enqueue(work: () => Promise<void> | void, onError: (err: unknown) => void): boolean {
    if (this.queued >= MAX_QUEUED_FRAMES) return false;
    this.queued++;
    this.chain = this.chain.then(work).catch(onError).finally(() => {
      this.queued--;
    });
    return true;
  }
}

export interface JoinedRoom {
  roomId: number;
  mutedUntil: number;
  lastTypingAt: number;
}

/** What a connection needs from its replica. */
export interface ConnectionHost {
  readonly log: Logger;
  /** A reader above this many unsent bytes is closed as a slow consumer. */
  readonly maxBufferedBytes: number;
  slowConsumerClosed(): void;
}

export interface ErrorExtra {
  ref?: string;
  room?: number;
  retryInMs?: number;
}

/**
 * Connection ids: a random per-process prefix and a counter. Unique across replicas like a UUID, but a
 * socket keeps a short string instead of the dozen-piece string randomUUID builds.
 */
const ID_PREFIX = randomBytes(12).toString('base64url');
let idCounter = 0;

const NO_ROOMS: ReadonlyMap<number, JoinedRoom> = new Map();

export class Connection {
  readonly id = ID_PREFIX + (++idCounter).toString(36);
  readonly user: UserRef;
  /** Rooms joined on this socket; allocated at the first join (most idle sockets join none). */
  private joined: Map<number, JoinedRoom> | null = null;
  alive = true;
  closed = false;
  /** Set when the replica drains: frames are no longer handled (clients resend unacked sends elsewhere). */
  closing = false;
  /** Sends this connection is handling, so that a drain waits for their acks. */
  inflight = 0;
  /** parley.v2 sockets: the users whose profiles they were sent (frames-v2.ts); null for parley.v1. */
  readonly known: KnownUsers | null;
  constructor(
    readonly ws: WebSocket,
    readonly claims: ChatTokenClaims,
    private readonly host: ConnectionHost,
    /** The user's frame queue on this replica (see FrameLane). */
    readonly lane: FrameLane = new FrameLane(),
    /** The socket `ws` writes to (from the HTTP upgrade), corked per tick; null for test doubles. */
    readonly socket: Duplex | null = null,
  ) {
    this.user = { id: claims.uid, handle: claims.handle, displayName: claims.name };
    this.known = ws.protocol === SUBPROTOCOL_V2 ? new KnownUsers() : null;
  }

  get rooms(): ReadonlyMap<number, JoinedRoom> {
    return this.joined ?? NO_ROOMS;
  }

  joinRoom(room: JoinedRoom): void {
    (this.joined ??= new Map()).set(room.roomId, room);
  }

  leaveRoom(roomId: number): void {
    this.joined?.delete(roomId);
  }

  /** Queue work behind the user's earlier frames; false if too much is queued. */
  enqueue(work: () => Promise<void> | void, onError: (err: unknown) => void): boolean {
    return this.lane.enqueue(work, onError);
  }

  send(frame: ServerFrame): void {
    if (!this.known) return this.sendRaw(JSON.stringify(frame));
    this.introduce(usersOfFrame(frame));
    this.sendRaw(encodeV2(frame));
  }

  /** A frame shared by many sockets; a message in this socket's protocol version. */
  deliver(frame: Frame | SharedMessage): void {
    if (!(frame instanceof SharedMessage)) return this.sendRaw(frame);
    if (!this.known) return this.sendRaw(frame.v1());
    this.introduce(frame.users);
    this.sendRaw(frame.v2());
  }

  /** Version 2: a `users` frame with the profiles among `users` this socket was not sent yet. */
  private introduce(users: readonly UserRef[]): void {
    const unknown = users.length ? this.known!.unknown(users) : users;
    if (unknown.length) this.sendRaw(usersFrame(unknown));
  }

  /** Send a pre-serialized frame; a reader that falls too far behind is closed, never buffered forever. */
  sendRaw(frame: Frame): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.host.maxBufferedBytes) {
      this.host.log.warn({ conn: this.id, user: this.user.id, buffered: this.ws.bufferedAmount }, 'slow consumer closed');
      this.host.slowConsumerClosed();
      this.close(CloseCode.SlowConsumer, 'slow consumer');
      return;
    }
    // Frames sent in one tick leave in one write, not one syscall each.
    corkUntilEndOfTick(this.socket);
    // A Buffer (a frame encoded once for many sockets) still goes out as a text frame.
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, { binary: false });
  }

  /** Wait until the socket's send buffer is below half the limit (backpressure for backlog replay). */
  async writable(): Promise<void> {
    const limit = this.host.maxBufferedBytes / 2;
    while (!this.closed && this.ws.bufferedAmount > limit) await new Promise((r) => setTimeout(r, 10));
  }

  error(code: ErrorCode, message: string, extra: ErrorExtra = {}): void {
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
