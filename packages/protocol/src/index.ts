// The Parley chat protocol, version 1: the one definition shared by the chat server, the browser
// client and the tests. Client frames are validated with zod on the server; server frames are plain
// types. The browser bundle imports types from here and values from `@parley/protocol/wire` (wire.ts,
// re-exported below), so zod never ships to the browser.
// docs/protocol.md describes the same frames for people.
import { z } from 'zod';

export * from './wire.ts';
export * from './v2.ts';
import { type ErrorCode, MAX_ATTACHMENTS_PER_MESSAGE, MAX_EMOJI_LENGTH, PRESENCE_PAGE_MAX } from './wire.ts';

// ---- client -> server ---------------------------------------------------------------------------

const roomId = z.number().int().positive();
const seq = z.number().int().nonnegative();
/** Client message ids: chosen by the client, unique per author; resends reuse them. */
export const clientIdSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

export const clientFrameSchema = z.discriminatedUnion('type', [
  /**
   * `sinceSeq`: resume after this seq. `sinceVersion`: the highest message `version` the client has
   * seen in this room; messages at or below the resume point changed after it are sent as `updated`.
   */
  /**
   * `presence: 'diff'`: this socket applies `presence_diff` frames (a snapshot on join, then changes;
   * big rooms send counts only, the list comes from `presence_list`). Without it: full `presence` frames.
   */
  z.object({ type: z.literal('join'), room: roomId, sinceSeq: seq.optional(), sinceVersion: seq.optional(), presence: z.enum(['diff']).optional() }),
  z.object({ type: z.literal('leave'), room: roomId }),
  /**
   * `replyTo`: the seq of a message of the same room this one answers. `attachments`: ids of your
   * uploads into this room, not yet sent (others are ignored); with them the body may be empty.
   */
  z.object({
    type: z.literal('send'), room: roomId, clientId: clientIdSchema, body: z.string(), replyTo: z.number().int().positive().optional(),
    attachments: z.array(z.uuid()).max(MAX_ATTACHMENTS_PER_MESSAGE).optional(),
  }),
  z.object({ type: z.literal('edit'), room: roomId, seq: seq, body: z.string() }),
  z.object({ type: z.literal('delete'), room: roomId, seq: seq }),
  /**
   * A page of stored messages, oldest first; exactly one anchor: `beforeSeq` (the page just before it),
   * `afterSeq` (the page just after it) or `aroundSeq` (a window: that message, about half the page
   * before it and the rest after it; for opening a room at a search result).
   */
  z.object({
    type: z.literal('history'), room: roomId, beforeSeq: seq.optional(), afterSeq: seq.optional(), aroundSeq: seq.optional(),
    limit: z.number().int().min(1).max(200).optional(),
  }).refine((f) => [f.beforeSeq, f.afterSeq, f.aroundSeq].filter((anchor) => anchor !== undefined).length === 1, {
    message: 'needs exactly one of beforeSeq, afterSeq, aroundSeq',
  }),
  z.object({ type: z.literal('typing'), room: roomId }),
  z.object({ type: z.literal('ping'), ref: z.string().max(64).optional() }),
  /** The user has seen the room up to `seq`: moves their read pointer (never backwards). */
  z.object({ type: z.literal('read'), room: roomId, seq: seq }),
  /**
   * Set (`on: true`) or clear your reaction `emoji` on a message. Idempotent (a set, not a toggle), so a
   * retry is safe; answered with `reacted` after COMMIT, and everyone in the room gets `updated`.
   */
  z.object({ type: z.literal('react'), room: roomId, seq: z.number().int().positive(), emoji: z.string().min(1).max(MAX_EMOJI_LENGTH), on: z.boolean() }),
  /** A page of who is online in a joined room, by handle, after the handle `after` (for big rooms). */
  z.object({ type: z.literal('presence_list'), room: roomId, after: z.string().max(64).optional(), limit: z.number().int().min(1).max(PRESENCE_PAGE_MAX).optional() }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export const CLIENT_FRAME_TYPES = ['join', 'leave', 'send', 'edit', 'delete', 'history', 'typing', 'ping', 'read', 'react', 'presence_list'] as const;

// ---- server -> client ---------------------------------------------------------------------------

export interface UserRef {
  id: number;
  handle: string;
  displayName: string;
}

export interface ChatMessage {
  id: number;
  roomId: number;
  seq: number;
  author: UserRef;
  clientId: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** The id of the control event of the latest edit, delete or reaction; absent when never changed. */
  version?: number;
  /** Reactions, in the order their emoji was first used; absent when none (and on deleted messages). */
  reactions?: ReactionSummary[];
  /** Present when the message is a reply. */
  replyTo?: ReplyRef;
  /** Files sent with the message, in upload order; absent when none (and on deleted messages). */
  attachments?: AttachmentRef[];
}

/** A file of a message: downloaded from admin at `/api/attachments/:id` (images: also `/thumbnail`). */
export interface AttachmentRef {
  id: string;
  name: string;
  size: number;
  contentType: string;
  /** Decoded images only: the upright size (the thumbnail keeps its aspect ratio). */
  image?: { width: number; height: number };
}

/** One emoji's reactions on a message. */
export interface ReactionSummary {
  emoji: string;
  count: number;
  /** Who reacted, earliest first, at most REACTION_USERS_LISTED (count may be larger). Same order as handles. */
  userIds: number[];
  handles: string[];
}

/** The message a reply answers (as it is now: an edit changes the excerpt, a delete empties it). */
export interface ReplyRef {
  seq: number;
  /** Null only if the original is gone altogether. */
  author: UserRef | null;
  /** The original's body, cut to REPLY_EXCERPT_CHARS characters ('' when deleted). */
  excerpt: string;
  deleted: boolean;
}

export interface RoomInfo {
  id: number;
  name: string;
  kind: 'public' | 'private' | 'direct';
  archived: boolean;
}

export type LeftReason = 'removed';

export type ServerFrame =
  | { type: 'hello'; protocol: number; connectionId: string; replica: string; user: UserRef; heartbeatMs: number; limits?: { maxMessageBytes: number; maxFrameBytes: number } }
  | { type: 'joined'; room: RoomInfo; lastSeq: number; resumedFrom: number | null }
  /** A message in seq order. Replayed (resume) and live messages use the same frame. */
  | { type: 'message'; room: number; message: ChatMessage }
  /** The client has everything up to `seq`; live messages follow. Sent after a join's backlog. */
  | { type: 'caught_up'; room: number; seq: number }
  | { type: 'updated'; room: number; message: ChatMessage }
  /**
   * Answer to `history`, echoing its anchor. `hasMore`: older messages exist before the first one;
   * `hasNewer` (afterSeq/aroundSeq answers): newer messages exist after the last one.
   */
  | { type: 'history'; room: number; messages: ChatMessage[]; hasMore: boolean; hasNewer?: boolean; beforeSeq?: number; afterSeq?: number; aroundSeq?: number }
  | { type: 'ack'; room: number; clientId: string; seq: number; id: number; createdAt: string; duplicate: boolean }
  /** Your `react` is committed (`changed: false`: it was already so). The new state comes as `updated`. */
  | { type: 'reacted'; room: number; seq: number; emoji: string; on: boolean; changed: boolean }
  /**
   * Who is online in the room (all replicas): the first users by handle (at most 100) and, from servers
   * that cap the list, the total `count` (count > users.length: "and N more"). Coalesced: at most a few
   * frames per second per room, each with the state at that moment.
   */
  | { type: 'presence'; room: number; users: UserRef[]; count?: number }
  /**
   * For sockets that joined with `presence: 'diff'`: what changed since the last presence frame of the
   * room (coalesced per room). With `joined`/`left` the list is kept complete (rooms of at most
   * PRESENCE_LIST_MAX online); without them only `count` is maintained (a big room): fetch the list with
   * `presence_list` when it is shown. A `presence` frame (full list) replaces the state whenever sent.
   */
  | { type: 'presence_diff'; room: number; joined?: UserRef[]; left?: number[]; count: number }
  /** Answer to `presence_list`: up to `limit` users by handle after `after`; `hasMore`: more follow. */
  | { type: 'presence_list'; room: number; users: UserRef[]; count: number; after?: string; hasMore: boolean }
  | { type: 'typing'; room: number; user: UserRef }
  /**
   * You are no longer in the room: the answer to `leave` (no reason), or `reason: 'removed'` when an
   * admin took away your access (a rejoin is refused with not_found).
   */
  | { type: 'left'; room: number; reason?: LeftReason }
  /** The room was archived (read-only: sends are refused with `archived`) or unarchived. */
  | { type: 'archived'; room: number; archived: boolean }
  | { type: 'moderation'; room: number | null; action: 'muted' | 'unmuted'; userId: number; until: string | null }
  | { type: 'pong'; ref?: string }
  /** Your read pointer in the room moved to `seq` (from this or another tab or device). */
  | { type: 'read'; room: number; seq: number }
  /**
   * One of your conversations changed while you may not have joined it: you were added to it (invite,
   * new DM), removed from it, or it was renamed/archived. Refresh the conversation list.
   */
  | { type: 'conversation'; room: number; change: 'added' | 'removed' | 'updated' }
  /**
   * `ref`: the clientId of the send it answers, or `react:<seq>:<emoji>` for a `react` it answers
   * (reactionRef); `retryInMs`: for rate_limited/unavailable, when to retry.
   */
  | { type: 'error'; code: ErrorCode; message: string; ref?: string; room?: number; retryInMs?: number };

export type ServerFrameType = ServerFrame['type'];
