// The message frames of a joined socket: send (validated and queued synchronously, acked after
// COMMIT, published to peers one bus event per writer batch), edit, delete, history and typing.
import type { Logger } from '@parley/logging';
import { type ChatMessage, ErrorCode, isEmoji, MAX_REACTION_EMOJIS, reactionRef, utf8Length } from '@parley/protocol';
import { type BusEvent, type BusEventOf, messagesEvent } from '../bus/index.ts';
import { AuthorInactiveError, DatabaseUnavailableError, type MessageRepository, NoLinkableAttachmentsError, OverloadedError, RoomArchivedError } from '../messages/message-repository.ts';
import type { Connection } from './connection.ts';
import type { ReplicaStats } from './replica-stats.ts';
import type { Reject, Subscriptions } from './subscriptions.ts';
import { TokenBucket } from './token-bucket.ts';
import type { HubMetrics } from '../metrics.ts';
import { SendTrace } from './send-trace.ts';
import { encodeFrame } from './room-state.ts';
import { SharedMessage } from './frames-v2.ts';

/** Where a `history` page is anchored (exactly one; the schema checks it). */
export type HistoryAnchor = { beforeSeq: number } | { afterSeq: number } | { aroundSeq: number };

export interface MessageCommandOptions {
  replicaId: string;
  maxMessageBytes: number;
  sendRatePerSec: number;
  sendBurst: number;
}

export interface MessageCommandDeps {
  options: MessageCommandOptions;
  messages: MessageRepository;
  subscriptions: Subscriptions;
  stats: ReplicaStats;
  /** Publish to peers (failures are logged there; peers repair from Postgres). */
  publish: (event: BusEvent) => Promise<void>;
  reject: Reject;
  log: Logger;
  metrics?: HubMetrics;
}

export class MessageCommands {
  /** Send budgets per user (all their sockets on this replica share one). */
  private readonly buckets = new Map<number, TokenBucket>();
  /** Committed messages not yet published to the bus (see queuePublish). */
  private outgoing: ChatMessage[] = [];

  constructor(private readonly deps: MessageCommandDeps) {}

  /** Drop send budgets of users no longer connected here (they would otherwise accumulate forever). */
  forgetBudgetsExcept(connectedUsers: Set<number>): void {
    for (const uid of this.buckets.keys()) if (!connectedUsers.has(uid)) this.buckets.delete(uid);
  }

  /** Sends and reactions share the user's write budget here (reactions are writes with a control event). */
  private takeWriteToken(userId: number): number {
    const { options } = this.deps;
    let bucket = this.buckets.get(userId);
    if (!bucket) this.buckets.set(userId, (bucket = new TokenBucket(options.sendRatePerSec, options.sendBurst)));
    return bucket.take();
  }

  /** Why a message body is refused, or null. */
  private bodyProblem(body: string, hasAttachments = false): { code: ErrorCode; message: string } | null {
    const max = this.deps.options.maxMessageBytes;
    const size = utf8Length(body);
    if (size > max) return { code: ErrorCode.TooLarge, message: `message is ${size} bytes; the limit is ${max}` };
    // Files alone are a message: the body may then be empty.
    if (!body.trim() && !hasAttachments) return { code: ErrorCode.BadFrame, message: 'message body is empty' };
    if (body.includes('\u0000')) return { code: ErrorCode.BadFrame, message: 'message body contains a NUL character' };
    return null;
  }

  /**
   * Validate and queue a message for storage synchronously (so one connection's sends keep their order),
   * then ack after COMMIT without holding up the connection's next frames.
   */
  send(conn: Connection, roomId: number, clientId: string, body: string, replyTo?: number, attachments?: string[]): void {
    const { reject, messages, stats, subscriptions, log } = this.deps;
    const endTimer = this.deps.metrics?.sendAck.startTimer();
    const joined = conn.rooms.get(roomId);
    if (!joined) return reject(conn, ErrorCode.NotJoined, `join room ${roomId} before sending to it`, { ref: clientId, room: roomId });
    const problem = this.bodyProblem(body, (attachments?.length ?? 0) > 0);
    if (problem) return reject(conn, problem.code, problem.message, { ref: clientId, room: roomId });
    if (joined.mutedUntil > Date.now()) {
      return reject(conn, ErrorCode.Muted, `you are muted in this room until ${new Date(joined.mutedUntil).toISOString()}`, { ref: clientId, room: roomId });
    }
    const waitMs = this.takeWriteToken(conn.user.id);
    if (waitMs > 0) return reject(conn, ErrorCode.RateLimited, `sending too fast; retry in ${waitMs} ms`, { ref: clientId, room: roomId, retryInMs: waitMs });

    // Traced from here (refusals above end no span): frame accepted → COMMIT → ack → fan-out.
    const traced = SendTrace.start(roomId, conn.id);
    conn.inflight++;
    traced?.storing();
    // A reply names a message of this room, which the sender can read (joined); the insert keeps
    // reply_to_seq only when that message exists, so a bad one stores a plain message (never loses it).
    // Attachment ids that are not the sender's ready, unsent uploads into this room are ignored by the
    // insert; a message of files only, none of them linkable, is refused (never stored empty).
    messages.store({ roomId, authorId: conn.user.id, clientId, body, replyTo: replyTo ?? null, attachments: attachments ?? null }).then(
      ({ message, duplicate }) => {
        if (message.roomId !== roomId) {
          return reject(conn, ErrorCode.BadFrame, 'this client id was already used for a message in another room', { ref: clientId, room: roomId });
        }
        // Ack first: it must not wait for the fan-out (which, in a big room, runs over several turns).
        conn.send({ type: 'ack', room: roomId, clientId, seq: message.seq, id: message.id, createdAt: message.createdAt, duplicate });
        endTimer?.();
        traced?.committed(message.seq, duplicate);
        if (!duplicate) {
          stats.messageStored();
          const fanOut = () => {
            this.queuePublish(message);
            subscriptions.room(roomId)?.committed(message.seq, message);
          };
          if (traced) traced.fanout(fanOut);
          else fanOut();
        }
      },
      (err: unknown) => {
        traced?.failed(err);
        if (err instanceof RoomArchivedError) return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { ref: clientId, room: roomId });
        if (err instanceof NoLinkableAttachmentsError) {
          return reject(conn, ErrorCode.NotFound, 'none of the attached files can be sent (not your upload in this room, not finished, or already sent); the message was not stored', { ref: clientId, room: roomId });
        }
        if (err instanceof AuthorInactiveError) return reject(conn, ErrorCode.Forbidden, 'your account is not active; the message was not stored', { ref: clientId, room: roomId });
        if (err instanceof DatabaseUnavailableError) return reject(conn, ErrorCode.Unavailable, 'the database is briefly unavailable; the message was not stored; retry', { ref: clientId, room: roomId, retryInMs: 1_000 });
        if (err instanceof OverloadedError) return reject(conn, ErrorCode.Unavailable, 'the server is overloaded; the message was not stored; retry', { ref: clientId, room: roomId, retryInMs: 1_000 });
        log.error({ err, room: roomId }, 'storing a message failed');
        reject(conn, ErrorCode.Unavailable, 'the message was not stored; retry', { ref: clientId, room: roomId, retryInMs: 1_000 });
      },
    ).finally(() => {
      conn.inflight--;
      traced?.end();
    });
  }

  /**
   * Edit one's own message. Refused while muted in the room and in archived rooms. The change commits
   * with its control event; every replica (this one too) broadcasts `updated` when it applies it.
   */
  async edit(conn: Connection, roomId: number, seq: number, body: string): Promise<void> {
    const { reject, messages } = this.deps;
    const joined = conn.rooms.get(roomId);
    if (!joined) return reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const problem = this.bodyProblem(body);
    if (problem) return reject(conn, problem.code, problem.message, { room: roomId });
    if (joined.mutedUntil > Date.now()) {
      return reject(conn, ErrorCode.Muted, `you are muted in this room until ${new Date(joined.mutedUntil).toISOString()}`, { room: roomId });
    }
    if (this.deps.subscriptions.room(roomId)?.info.archived) return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { room: roomId });
    const result = await messages.edit(roomId, seq, conn.user.id, body);
    if (result === 'archived') return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { room: roomId });
    if (result === 'not_allowed') return reject(conn, ErrorCode.Forbidden, 'you can only edit your own messages that are not deleted', { room: roomId });
  }

  /** Delete one's own message (not in archived rooms); broadcast like an edit. */
  async remove(conn: Connection, roomId: number, seq: number): Promise<void> {
    const { reject, messages } = this.deps;
    if (!conn.rooms.has(roomId)) return reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    // Only the author deletes over the socket. Moderators delete others' messages through the panel,
    // which checks their scope and writes the audit log and the control event.
    if (this.deps.subscriptions.room(roomId)?.info.archived) return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { room: roomId });
    const result = await messages.softDelete(roomId, seq, conn.user.id);
    if (result === 'archived') return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', { room: roomId });
    if (result === 'not_allowed') return reject(conn, ErrorCode.Forbidden, 'you can only delete your own messages', { room: roomId });
  }

  /**
   * Set or clear the user's reaction on a message (idempotent). Refused like an edit while muted and in
   * archived rooms, and on deleted messages. Answered with `reacted` after COMMIT; the new state reaches
   * everyone (this socket too) as `updated` from the control event, on every replica.
   */
  async react(conn: Connection, roomId: number, seq: number, emoji: string, on: boolean): Promise<void> {
    const { reject, messages } = this.deps;
    // Errors name the reaction they refuse, so a client tells them from other errors of the room.
    const answer = { room: roomId, ref: reactionRef(seq, emoji) };
    const joined = conn.rooms.get(roomId);
    if (!joined) return reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, answer);
    if (!isEmoji(emoji)) return reject(conn, ErrorCode.BadFrame, 'a reaction is one emoji', answer);
    if (joined.mutedUntil > Date.now()) {
      return reject(conn, ErrorCode.Muted, `you are muted in this room until ${new Date(joined.mutedUntil).toISOString()}`, answer);
    }
    if (this.deps.subscriptions.room(roomId)?.info.archived) return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', answer);
    const waitMs = this.takeWriteToken(conn.user.id);
    if (waitMs > 0) return reject(conn, ErrorCode.RateLimited, `reacting too fast; retry in ${waitMs} ms`, { ...answer, retryInMs: waitMs });
    const result = await messages.react(roomId, seq, conn.user.id, emoji, on);
    if (result === 'archived') return reject(conn, ErrorCode.Archived, 'this room is archived; it is read-only', answer);
    if (result === 'not_found') return reject(conn, ErrorCode.NotFound, `no message ${seq} in this room`, answer);
    if (result === 'deleted') return reject(conn, ErrorCode.Forbidden, 'this message is deleted', answer);
    if (result === 'too_many') return reject(conn, ErrorCode.TooLarge, `a message has at most ${MAX_REACTION_EMOJIS} different reactions`, answer);
    conn.send({ type: 'reacted', room: roomId, seq, emoji, on, changed: result.changed });
  }

  /** Move the user's read pointer; every socket of theirs hears it from the control event. */
  async read(conn: Connection, roomId: number, seq: number): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.deps.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    await this.deps.messages.markRead(roomId, conn.user.id, seq);
  }

  /** An edited or deleted message reaches the room's sockets here, in order with its messages. */
  deliverUpdate(message: ChatMessage): void {
    this.deps.subscriptions.room(message.roomId)?.broadcast(new SharedMessage('updated', message.roomId, message));
  }

  /** A page of a joined room's messages before or after a seq, or a window around one (echoing the anchor). */
  async history(conn: Connection, roomId: number, anchor: HistoryAnchor, limit: number): Promise<void> {
    if (!conn.rooms.has(roomId)) return this.deps.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const { messages } = this.deps;
    if ('beforeSeq' in anchor) {
      const page = await messages.before(roomId, anchor.beforeSeq, limit);
      conn.send({ type: 'history', room: roomId, messages: page.messages, hasMore: page.hasMore, beforeSeq: anchor.beforeSeq });
    } else if ('afterSeq' in anchor) {
      const page = await messages.after(roomId, anchor.afterSeq, limit + 1);
      // Anything at or below afterSeq is older (seqs start at 1).
      conn.send({ type: 'history', room: roomId, messages: page.slice(0, limit), hasMore: anchor.afterSeq > 0, hasNewer: page.length > limit, afterSeq: anchor.afterSeq });
    } else {
      const page = await messages.around(roomId, anchor.aroundSeq, limit);
      conn.send({ type: 'history', room: roomId, messages: page.messages, hasMore: page.hasMore, hasNewer: page.hasNewer, aroundSeq: anchor.aroundSeq });
    }
  }

  async typing(conn: Connection, roomId: number): Promise<void> {
    const joined = conn.rooms.get(roomId);
    if (!joined) return this.deps.reject(conn, ErrorCode.NotJoined, `join room ${roomId} first`, { room: roomId });
    const now = Date.now();
    if (now - joined.lastTypingAt < 2_000) return; // typing is ephemeral; throttle quietly
    joined.lastTypingAt = now;
    const event = { k: 'typing', room: roomId, user: conn.user, from: conn.id, replica: this.deps.options.replicaId } as const;
    this.deliverTyping(event);
    await this.deps.publish(event);
  }

  /** Typing reaches the room's live sockets here except the typing one. */
  deliverTyping(event: BusEventOf<'typing'>): void {
    const state = this.deps.subscriptions.room(event.room);
    if (!state) return;
    const frame = encodeFrame({ type: 'typing', room: event.room, user: event.user });
    for (const sub of state.subs.values()) if (sub.connId !== event.from && !sub.catchingUp) sub.sendRaw(frame);
  }

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
    void this.deps.publish(messagesEvent(this.deps.options.replicaId, batch));
  };
}
