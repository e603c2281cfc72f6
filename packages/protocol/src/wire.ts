// The protocol's values that need no zod: constants, close and error codes, the size rule. The
// browser bundle imports this module (`@parley/protocol/wire`) so it never pulls the zod schemas of
// index.ts (~450 KB); index.ts re-exports it for the server and the tests.

export const PROTOCOL_VERSION = 1;
/** Sec-WebSocket-Protocol offered by clients; the auth token rides in a second entry `token.<jwt-like>`. */
export const SUBPROTOCOL = 'parley.v1';
/**
 * Presence: rooms with at most this many people online get full lists (`presence`, and `joined`/`left`
 * in `presence_diff`); bigger rooms send diff sockets counts only (lists via `presence_list`).
 */
export const PRESENCE_LIST_MAX = 100;
/** Most users in one `presence_list` answer. */
export const PRESENCE_PAGE_MAX = 500;
export const TOKEN_SUBPROTOCOL_PREFIX = 'token.';
export const SOCKET_PATH = '/socket';

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  /** The session was revoked, the user banned or kicked: do not reconnect with the same session. */
  SessionRevoked: 4001,
  /** The auth token expired or is invalid: fetch a new token, then reconnect. */
  TokenInvalid: 4002,
  /** The client did not read fast enough; its send buffer overflowed. Reconnect and resume. */
  SlowConsumer: 4008,
  /** The user has too many sockets open on this replica (MAX_SOCKETS_PER_USER). Close another first. */
  TooManyConnections: 4029,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const ErrorCode = {
  BadJson: 'bad_json',
  BadFrame: 'bad_frame',
  UnknownType: 'unknown_type',
  TooLarge: 'too_large',
  RateLimited: 'rate_limited',
  NotFound: 'not_found',
  Forbidden: 'forbidden',
  NotJoined: 'not_joined',
  Muted: 'muted',
  Archived: 'archived',
  Internal: 'internal',
  Unavailable: 'unavailable',
  /** The socket has joined MAX_ROOMS_PER_SOCKET rooms: leave one first. */
  TooManyRooms: 'too_many_rooms',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Reactions: the longest emoji string accepted (UTF-16 units; ZWJ sequences and flags fit). */
export const MAX_EMOJI_LENGTH = 32;
/** Reactions: most different emojis on one message. */
export const MAX_REACTION_EMOJIS = 20;
/** Reactions: most user ids (and handles) listed per emoji in a message frame. */
export const REACTION_USERS_LISTED = 20;
/** Replies: the quoted excerpt of the original, in characters. */
export const REPLY_EXCERPT_CHARS = 140;
/** Attachments: most files on one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/**
 * The `ref` of an `error` that answers a `react` frame: `react:<seq>:<emoji>` (the message and emoji it
 * was about), so a client can tell it from errors answering other frames of the room.
 */
export function reactionRef(seq: number, emoji: string): string {
  return `react:${seq}:${emoji}`;
}

/** The message and emoji an error's `ref` names, if it answers a `react` frame. */
export function parseReactionRef(ref: string | undefined): { seq: number; emoji: string } | null {
  const match = ref === undefined ? null : /^react:(\d+):(.+)$/su.exec(ref);
  return match ? { seq: Number(match[1]), emoji: match[2]! } : null;
}

/**
 * Whether `text` is one emoji: a single grapheme cluster that is pictographic (or a flag or keycap),
 * with no whitespace or control characters. The server refuses anything else as a reaction.
 */
export function isEmoji(text: string): boolean {
  if (!text || text.length > MAX_EMOJI_LENGTH) return false;
  if (/[\s\p{Cc}]/u.test(text)) return false;
  if (!/\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u.test(text)) return false;
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(text)).length === 1;
}

const encoder = new TextEncoder();
/** Byte length of a UTF-8 string, as the server counts message size limits. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
