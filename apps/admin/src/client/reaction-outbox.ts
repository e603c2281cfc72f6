// Reactions the server has not confirmed yet, so one made while the socket is down (or on a socket that
// died unnoticed) is not lost: each is kept until its `reacted` answer arrives and sent again whenever
// its room catches up after a (re)join. `react` sets a state instead of toggling one, so sending a wish
// twice is harmless. Per message and emoji only the latest wish counts. UI-free.
import type { ChatMessage, UserRef } from '@parley/protocol';

/** A wish sent on this many catch-ups without an answer is given up (the server refused it: deleted message, muted, archived). */
export const MAX_REACTION_SENDS = 3;

export interface ReactionWish {
  room: number;
  seq: number;
  emoji: string;
  on: boolean;
  /** Catch-ups it was re-sent on. */
  resends: number;
}

const keyOf = (room: number, seq: number, emoji: string) => `${room}:${seq}:${emoji}`;

export class ReactionOutbox {
  private readonly wishes = new Map<string, ReactionWish>();

  /** Want my reaction `emoji` on a message set (`on`) or cleared; replaces an earlier wish for it. */
  want(room: number, seq: number, emoji: string, on: boolean): ReactionWish {
    const wish = { room, seq, emoji, on, resends: 0 };
    this.wishes.set(keyOf(room, seq, emoji), wish);
    return wish;
  }

  /** The server committed a state (`reacted`): the wish for it is done (a newer, different one stays). */
  settle(room: number, seq: number, emoji: string, on: boolean): void {
    const key = keyOf(room, seq, emoji);
    if (this.wishes.get(key)?.on === on) this.wishes.delete(key);
  }

  /** The wish for a message's emoji, if one is outstanding. */
  wanted(room: number, seq: number, emoji: string): boolean | undefined {
    return this.wishes.get(keyOf(room, seq, emoji))?.on;
  }

  /** A room caught up: its outstanding wishes, to send again (each counted; given up after MAX_REACTION_SENDS). */
  resend(room: number): ReactionWish[] {
    const due: ReactionWish[] = [];
    for (const [key, wish] of this.wishes) {
      if (wish.room !== room) continue;
      if (++wish.resends > MAX_REACTION_SENDS) this.wishes.delete(key);
      else due.push(wish);
    }
    return due;
  }

  /** Drop a room's wishes (no longer a conversation of ours), or one message's (it was deleted). */
  forget(room: number, seq?: number): void {
    for (const [key, wish] of this.wishes) if (wish.room === room && (seq === undefined || wish.seq === seq)) this.wishes.delete(key);
  }

  /** `message` as it will be once my outstanding wishes for it are committed (what the screen shows meanwhile). */
  overlay(message: ChatMessage, me: UserRef): ChatMessage {
    let out = message;
    for (const wish of this.wishes.values()) {
      if (wish.room === message.roomId && wish.seq === message.seq) out = withMyReaction(out, me, wish.emoji, wish.on);
    }
    return out;
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
