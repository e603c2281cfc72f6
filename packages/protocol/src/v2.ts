// Protocol version 2 (`parley.v2`): the same frames as version 1 except the ones that carry messages
// (`message`, `updated`, `history`) and `ack`, which are lean: a message is a flat object with one-letter
// keys (WireMessage), its author is a user id, times are milliseconds since the epoch, absent fields are
// left out (no nulls), and the room id is said once (the frame's `room`). A socket learns a user's
// profile from a `users` frame sent before the first frame that names them (and again after it changes).
//
// This module is the one definition of version 2 for the server (encoding), the browser client and the
// tests (decoding back into version 1's ServerFrame, so the UI keeps its ChatMessage objects). It has no
// zod and no Node imports: the browser bundle imports it as `@parley/protocol/v2`.
// docs/protocol.md ("Version 2") describes it for people.
import type { AttachmentRef, ChatMessage, ReactionSummary, ServerFrame, UserRef } from './index.ts';

export const PROTOCOL_VERSION_V2 = 2;
/** Sec-WebSocket-Protocol of version 2; a client may offer it with `parley.v1` and the server picks it. */
export const SUBPROTOCOL_V2 = 'parley.v2';
/**
 * Most profiles a V2Decoder keeps; past it, it forgets the one introduced longest ago. Safe because a
 * server remembers fewer (256) per socket and sends a profile again once it starts over, so any user
 * a server still counts as known was introduced after fewer than this many others.
 */
export const V2_DECODER_USERS_MAX = 1024;

/** A message in version 2 (keys documented in docs/protocol.md, "Version 2"). */
export interface WireMessage {
  /** id */
  i: number;
  /** seq */
  s: number;
  /** author: a user id (the profile came in a `users` frame) */
  a: number;
  /** clientId */
  c: string;
  /** body */
  b: string;
  /** createdAt, ms since the epoch */
  t: number;
  /** editedAt, ms (absent: never edited) */
  e?: number;
  /** deletedAt, ms (absent: not deleted) */
  d?: number;
  /** version */
  v?: number;
  /** reactions (as in version 1) */
  x?: ReactionSummary[];
  /** replyTo */
  r?: WireReply;
  /** attachments (as in version 1) */
  f?: AttachmentRef[];
}

/** A reply's original: seq, author id (absent: gone), excerpt, deleted (present only when true). */
export interface WireReply {
  s: number;
  a?: number;
  x: string;
  d?: true;
}

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
type HistoryV1 = FrameOf<'history'>;

export type UsersFrame = { type: 'users'; users: UserRef[] };
export type MessageFrameV2 = { type: 'message'; room: number } & WireMessage;
export type UpdatedFrameV2 = { type: 'updated'; room: number } & WireMessage;
export type HistoryFrameV2 = Omit<HistoryV1, 'messages'> & { messages: WireMessage[] };
/** `c` clientId, `s` seq, `i` id, `t` createdAt (ms); `dup: true` only for a duplicate. */
export type AckFrameV2 = { type: 'ack'; room: number; c: string; s: number; i: number; t: number; dup?: true };

/** Server → client frames of version 2. */
export type ServerFrameV2 =
  | UsersFrame
  | MessageFrameV2
  | UpdatedFrameV2
  | HistoryFrameV2
  | AckFrameV2
  | Exclude<ServerFrame, { type: 'message' | 'updated' | 'history' | 'ack' }>;

// ---- encoding (server) --------------------------------------------------------------------------

/** The message in version 2 form (its room and the author's profile are said elsewhere). */
export function wireMessage(m: ChatMessage): WireMessage {
  const w: WireMessage = { i: m.id, s: m.seq, a: m.author.id, c: m.clientId, b: m.body, t: Date.parse(m.createdAt) };
  if (m.editedAt !== null) w.e = Date.parse(m.editedAt);
  if (m.deletedAt !== null) w.d = Date.parse(m.deletedAt);
  if (m.version !== undefined) w.v = m.version;
  if (m.reactions !== undefined) w.x = m.reactions;
  if (m.replyTo !== undefined) {
    const r: WireReply = { s: m.replyTo.seq, x: m.replyTo.excerpt };
    if (m.replyTo.author) r.a = m.replyTo.author.id;
    if (m.replyTo.deleted) r.d = true;
    w.r = r;
  }
  if (m.attachments !== undefined) w.f = m.attachments;
  return w;
}

/** The users a message names by id in version 2 (author, and the author of the message it answers). */
export function usersOf(m: ChatMessage): UserRef[] {
  const replied = m.replyTo?.author;
  return replied && replied.id !== m.author.id ? [m.author, replied] : [m.author];
}

/** The users a version 1 frame names by id once encoded in version 2 (empty for most frames). */
export function usersOfFrame(frame: ServerFrame): UserRef[] {
  switch (frame.type) {
    case 'message':
    case 'updated':
      return usersOf(frame.message);
    case 'history':
      return frame.messages.flatMap(usersOf);
    default:
      return [];
  }
}

/** A version 1 frame in version 2 form (frames that do not differ are returned as they are). */
export function toV2(frame: ServerFrame): ServerFrameV2 {
  switch (frame.type) {
    case 'message':
    case 'updated':
      return { type: frame.type, room: frame.room, ...wireMessage(frame.message) };
    case 'history': {
      const { messages, ...rest } = frame;
      return { ...rest, messages: messages.map(wireMessage) };
    }
    case 'ack': {
      const ack: AckFrameV2 = { type: 'ack', room: frame.room, c: frame.clientId, s: frame.seq, i: frame.id, t: Date.parse(frame.createdAt) };
      if (frame.duplicate) ack.dup = true;
      return ack;
    }
    case 'hello':
      return { ...frame, protocol: PROTOCOL_VERSION_V2 };
    default:
      return frame;
  }
}

// ---- decoding (clients, tests) ------------------------------------------------------------------

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Turns version 2 frames back into version 1's ServerFrame, so code written for version 1 (the store,
 * the UI, the tests) sees the same ChatMessage objects. Holds the profiles the server sent in `users`
 * frames (kept across reconnects: the server resends them to every new socket anyway), the latest
 * profile of each user, at most V2_DECODER_USERS_MAX of them.
 */
export class V2Decoder {
  /** In the order they were last introduced (the first is the one to forget). */
  readonly users = new Map<number, UserRef>();

  /** The version 1 form of a frame, or null for frames only the decoder needs (`users`). */
  decode(frame: ServerFrameV2): ServerFrame | null {
    switch (frame.type) {
      case 'users':
        for (const user of frame.users) this.remember(user);
        return null;
      case 'message':
      case 'updated': {
        const { type, room, ...wire } = frame;
        return { type, room, message: this.message(room, wire) };
      }
      case 'history': {
        const { messages, ...rest } = frame;
        return { ...rest, messages: messages.map((w) => this.message(frame.room, w)) };
      }
      case 'ack':
        return { type: 'ack', room: frame.room, clientId: frame.c, seq: frame.s, id: frame.i, createdAt: iso(frame.t), duplicate: frame.dup === true };
      default:
        return frame;
    }
  }

  /** A ChatMessage as version 1 sends it (nulls for never edited/deleted, optional fields absent). */
  message(roomId: number, w: WireMessage): ChatMessage {
    const m: ChatMessage = {
      id: w.i, roomId, seq: w.s, author: this.user(w.a), clientId: w.c, body: w.b, createdAt: iso(w.t),
      editedAt: w.e === undefined ? null : iso(w.e), deletedAt: w.d === undefined ? null : iso(w.d),
    };
    if (w.v !== undefined) m.version = w.v;
    if (w.x !== undefined) m.reactions = w.x;
    if (w.r !== undefined) m.replyTo = { seq: w.r.s, author: w.r.a === undefined ? null : this.user(w.r.a), excerpt: w.r.x, deleted: w.r.d === true };
    if (w.f !== undefined) m.attachments = w.f;
    return m;
  }

  private remember(user: UserRef): void {
    this.users.delete(user.id); // re-inserted last: introduced now
    this.users.set(user.id, user);
    if (this.users.size > V2_DECODER_USERS_MAX) this.users.delete(this.users.keys().next().value!);
  }

  /** A known profile; a server always sends it first, so the placeholder only guards against a bug. */
  private user(id: number): UserRef {
    return this.users.get(id) ?? { id, handle: `user${id}`, displayName: `user ${id}` };
  }
}
