// The server's side of protocol version 2 (`parley.v2`, packages/protocol/src/v2.ts): messages encoded
// once per room for each protocol version in use, and the per-socket part, the users whose profiles a
// socket has been sent (a `users` frame goes out before the first frame that names someone new or
// someone whose profile changed since).
import { type ChatMessage, type ServerFrame, type UserRef, toV2, usersOf } from '@parley/protocol';

/**
 * Most users one socket remembers having been sent; then it starts over (profiles are sent again,
 * which the client ignores). Bounds a socket's memory at a few KB in a room with many authors. Must
 * stay below V2_DECODER_USERS_MAX (the client may forget a user only after that many newer ones).
 */
export const KNOWN_USERS_MAX = 256;

/** The answer for "everyone is known" (the common case on the hot path: no array per delivery). */
const NOBODY: readonly UserRef[] = Object.freeze([]);

const sameProfile = (a: UserRef, b: UserRef): boolean => a === b || (a.handle === b.handle && a.displayName === b.displayName);

/**
 * Which profiles one version 2 socket has been sent (the map is made on first use). A profile is
 * remembered as it was sent, so a renamed user (a message naming them with another handle or display
 * name) is sent again: version 1 carries the current profile in every message, version 2 must too.
 */
export class KnownUsers {
  private sent: Map<number, UserRef> | null = null;

  /** Of `users`, those this socket has not been sent as they are now, without repeats; they count as sent from now. */
  unknown(users: readonly UserRef[]): readonly UserRef[] {
    let fresh: UserRef[] | null = null;
    for (const user of users) {
      const before = this.sent?.get(user.id);
      if (before && sameProfile(before, user)) continue;
      if (!this.sent || (!before && this.sent.size >= KNOWN_USERS_MAX)) this.sent = new Map();
      this.sent.set(user.id, user);
      (fresh ??= []).push(user);
    }
    return fresh ?? NOBODY;
  }
}

/** The `users` frame that introduces these profiles to a socket. */
export function usersFrame(users: readonly UserRef[]): string {
  return JSON.stringify({ type: 'users', users });
}

/** A version 1 frame as a version 2 socket gets it. */
export function encodeV2(frame: ServerFrame): string {
  return JSON.stringify(toV2(frame));
}

/**
 * A `message` or `updated` frame for every socket of a room: serialized and UTF-8 encoded once per
 * protocol version, when the first socket of that version needs it; every socket of a version gets the
 * same bytes. Only the `users` frame in front of it (version 2) is per socket.
 */
export class SharedMessage {
  private v1Bytes: Buffer | null = null;
  private v2Bytes: Buffer | null = null;
  private named: UserRef[] | null = null;

  constructor(
    readonly type: 'message' | 'updated',
    readonly room: number,
    readonly message: ChatMessage,
  ) {}

  /** The users a version 2 socket must know before this frame. */
  get users(): UserRef[] {
    return (this.named ??= usersOf(this.message));
  }

  v1(): Buffer {
    return (this.v1Bytes ??= Buffer.from(JSON.stringify({ type: this.type, room: this.room, message: this.message })));
  }

  v2(): Buffer {
    return (this.v2Bytes ??= Buffer.from(encodeV2({ type: this.type, room: this.room, message: this.message })));
  }
}
