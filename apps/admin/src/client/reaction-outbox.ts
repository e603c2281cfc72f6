// Reactions the server has not confirmed yet, so one made while the socket is down (or on a socket that
// died unnoticed) is not lost: each is kept until its `reacted` answer arrives and sent again whenever
// its room catches up after a (re)join. `react` sets a state instead of toggling one, so sending a wish
// twice is harmless. Per message and emoji only the latest wish counts. The screen shows the wishes over
// the server's state of the message, which is kept here so that a refused wish can be taken back. UI-free.
import type { ChatMessage, UserRef } from '@parley/protocol';

/** A wish sent on this many catch-ups without an answer is given up (the server refused it: deleted message, muted, archived). */
export const MAX_REACTION_SENDS = 3;

export interface ReactionWish {
  room: number;
  seq: number;
  emoji: string;
  on: boolean;
  /** Times it was sent again on a catch-up (retries after "too fast" do not count). */
  resends: number;
  /** The server said "too fast" (or "unavailable") for it: to send again after the wait. */
  throttled?: boolean;
}

const messageKey = (room: number, seq: number) => `${room}:${seq}`;
const wishKey = (room: number, seq: number, emoji: string) => `${room}:${seq}:${emoji}`;

export class ReactionOutbox {
  private readonly wishes = new Map<string, ReactionWish>();
  /** The server's state of each message with outstanding wishes: shown again when they are dropped. */
  private readonly served = new Map<string, ChatMessage>();

  /** Want my reaction `emoji` on `message` (as shown now) set (`on`) or cleared; replaces an earlier wish for it. */
  want(message: ChatMessage, emoji: string, on: boolean): ReactionWish {
    const key = messageKey(message.roomId, message.seq);
    if (!this.served.has(key)) this.served.set(key, message);
    const wish = { room: message.roomId, seq: message.seq, emoji, on, resends: 0 };
    this.wishes.set(wishKey(message.roomId, message.seq, emoji), wish);
    return wish;
  }

  /** The server's new state of a message (an `updated` frame). */
  serverState(message: ChatMessage): void {
    const key = messageKey(message.roomId, message.seq);
    if (this.served.has(key)) this.served.set(key, message);
  }

  /** The server committed a state (`reacted`): the wish for it is done (a newer, different one stays). */
  settle(room: number, seq: number, emoji: string, on: boolean): void {
    const key = wishKey(room, seq, emoji);
    if (this.wishes.get(key)?.on !== on) return;
    this.wishes.delete(key);
    this.prune();
  }

  /** The wish for a message's emoji, if one is outstanding. */
  wanted(room: number, seq: number, emoji: string): boolean | undefined {
    return this.wishes.get(wishKey(room, seq, emoji))?.on;
  }

  /** Whether a room has outstanding wishes. */
  pending(room: number): boolean {
    for (const wish of this.wishes.values()) if (wish.room === room) return true;
    return false;
  }

  /**
   * A room's outstanding wishes, to send again on a catch-up. Each is counted and given up after
   * MAX_REACTION_SENDS (a wish the server never answers was refused unseen); `restore` lists the
   * messages to show as the server has them again (their wishes were given up).
   */
  resend(room: number): { due: ReactionWish[]; restore: ChatMessage[] } {
    const due: ReactionWish[] = [];
    for (const [key, wish] of this.wishes) {
      if (wish.room !== room) continue;
      wish.throttled = false;
      if (++wish.resends > MAX_REACTION_SENDS) this.wishes.delete(key);
      else due.push(wish);
    }
    return { due, restore: this.prune() };
  }

  /** The server said "retry later" to the wish for this message's emoji; false if there is none. */
  throttle(room: number, seq: number, emoji: string): boolean {
    const wish = this.wishes.get(wishKey(room, seq, emoji));
    if (wish) wish.throttled = true;
    return wish !== undefined;
  }

  /** A room's wishes to send again after the wait ("too fast"): not counted, the server did answer. */
  retryThrottled(room: number): ReactionWish[] {
    const due: ReactionWish[] = [];
    for (const wish of this.wishes.values()) {
      if (wish.room !== room || !wish.throttled) continue;
      wish.throttled = false;
      due.push(wish);
    }
    return due;
  }

  /**
   * The server refused the reaction `emoji` on a message (its error names them): that wish is dropped
   * and the message shown as the server has it (with my other wishes for it over it). Returns the
   * messages to show.
   */
  refused(room: number, seq: number, emoji: string): ChatMessage[] {
    const key = messageKey(room, seq);
    const served = this.served.get(key);
    this.wishes.delete(wishKey(room, seq, emoji));
    const dropped = this.prune();
    // Still wished for otherwise: shown again too, with the remaining wishes over it.
    return served && this.served.has(key) ? [...dropped, served] : dropped;
  }

  /** Drop a room's wishes (no longer a conversation of ours), or one message's (it was deleted); returns the messages to show again. */
  forget(room: number, seq?: number): ChatMessage[] {
    for (const [key, wish] of this.wishes) if (wish.room === room && (seq === undefined || wish.seq === seq)) this.wishes.delete(key);
    return this.prune();
  }

  /** `message` as it will be once my outstanding wishes for it are committed (what the screen shows meanwhile). */
  overlay(message: ChatMessage, me: UserRef): ChatMessage {
    let out = message;
    for (const wish of this.wishes.values()) {
      if (wish.room === message.roomId && wish.seq === message.seq) out = withMyReaction(out, me, wish.emoji, wish.on);
    }
    return out;
  }

  /** Forget the server state of messages without wishes; returns those states (the last known truth). */
  private prune(): ChatMessage[] {
    const wished = new Set([...this.wishes.values()].map((w) => messageKey(w.room, w.seq)));
    const dropped: ChatMessage[] = [];
    for (const [key, message] of this.served) {
      if (wished.has(key)) continue;
      this.served.delete(key);
      dropped.push(message);
    }
    return dropped;
  }
}

/** `message` with my reaction `emoji` set or cleared (unchanged when it already is so). */
export function withMyReaction(message: ChatMessage, me: UserRef, emoji: string, on: boolean): ChatMessage {
  if (message.deletedAt) return message;
  const reactions = message.reactions ?? [];
  const index = reactions.findIndex((r) => r.emoji === emoji);
  const current = index >= 0 ? reactions[index]! : undefined;
  const mine = current?.userIds.includes(me.id) ?? false;
  if (mine === on) return message;
  const next = [...reactions];
  if (on && current) next[index] = { ...current, count: current.count + 1, userIds: [...current.userIds, me.id], handles: [...current.handles, me.handle] };
  else if (on) next.push({ emoji, count: 1, userIds: [me.id], handles: [me.handle] });
  else if (current!.count <= 1) next.splice(index, 1);
  else {
    const at = current!.userIds.indexOf(me.id);
    next[index] = { ...current!, count: current!.count - 1, userIds: current!.userIds.filter((_, i) => i !== at), handles: current!.handles.filter((_, i) => i !== at) };
  }
  const out: ChatMessage = { ...message };
  if (next.length) out.reactions = next;
  else delete out.reactions;
  return out;
}
