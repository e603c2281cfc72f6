// The web client's state: every conversation of the sidebar (one socket joins them all), each with its
// loaded messages, unsent messages, read pointer, unread and mention counts. UI-free: components read
// it and subscribe; all network traffic goes through ChatConnection and the panel's JSON API.
import type { AttachmentRef, ChatMessage, RoomInfo, ServerFrame, UserRef } from '@parley/protocol';
import type { Conversation } from '../features/conversations/conversation.ts';
import { ChatConnection, type ConnectionState, type StateDetail } from './chat-connection.ts';
import { csrfToken } from './csrf.ts';
import { ReactionOutbox } from './reaction-outbox.ts';
import { REPLY_EXCERPT_CHARS, parseReactionRef } from '@parley/protocol/wire';

// The sidebar's conversation, as the panel's JSON API sends it (a type only: nothing of the server
// module reaches the bundle).
export type { Conversation };

export interface PendingSend {
  clientId: string;
  body: string;
  replyTo?: ChatMessage;
  /** Files sent with it (already uploaded). */
  attachments?: AttachmentRef[];
  status: 'sending' | 'failed';
  error?: string;
}

export interface RoomState {
  conv: Conversation;
  /** Loaded messages, contiguous, in seq order. */
  messages: ChatMessage[];
  /** Older messages exist before messages[0]. */
  hasMore: boolean;
  loadingOlder: boolean;
  /**
   * Newer messages exist after messages' last one that are not loaded: the list shows an older window
   * (opened at a search result) and pages forward (`loadNewer`) until it meets the live end.
   */
  gapAfter: boolean;
  loadingNewer: boolean;
  /** A message to bring into view and highlight (a search result); the message list takes it once loaded. */
  jump: number | null;
  /** Sends not yet stored, in the order they were written. */
  pending: PendingSend[];
  /** Who is online (by handle): everyone when `presenceListed`, else the pages fetched (`loadPresence`). */
  presence: UserRef[];
  presenceCount: number;
  /** The server keeps `presence` complete (a small room); false: a big room, only the count is live. */
  presenceListed: boolean;
  /** More pages of a big room's list can be fetched. */
  presenceHasMore: boolean;
  typing: Map<number, { user: UserRef; until: number }>;
  mutedUntil: Date | null;
  removed: boolean;
  /** Caught up at least once on some socket (the message list is meaningful). */
  ready: boolean;
  members: UserRef[] | null;
  notice: string | null;
  error: string | null;
  /** The message the next send replies to (the chip above the composer). */
  replyingTo: ChatMessage | null;
  /** A message just jumped to (a reply's quote was clicked): highlighted for a moment. */
  highlightSeq: number | null;
}

export interface UserInfo {
  id: number;
  handle: string;
  displayName: string;
  role: 'user' | 'moderator' | 'admin';
}

export type Listener = () => void;

export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

export function mentionRegex(handle: string): RegExp {
  return new RegExp(`(^|[^A-Za-z0-9_])@(${handle})(?![A-Za-z0-9_])`, 'i');
}

const ROOM_MENTION = /(^|[^A-Za-z0-9_])@room(?![A-Za-z0-9_])/i;

/** A group conversation (as the server says; without the flag, a direct conversation with more than one other person). */
export function isGroup(conv: Conversation): boolean {
  return conv.kind === 'direct' && (conv.group ?? (conv.peers?.length ?? 0) > 1);
}

/** The other people's names, for a group conversation's title. */
export function groupNames(conv: Conversation): string {
  return (conv.peers ?? []).map((p) => p.displayName).join(', ');
}

/** Closed from the sidebar and nothing new since (the next message brings it back). */
export function isHidden(conv: Conversation): boolean {
  return conv.hiddenThroughSeq !== null && conv.hiddenThroughSeq !== undefined && conv.lastSeq <= conv.hiddenThroughSeq;
}

export function displayName(conv: Conversation): string {
  if (isGroup(conv)) return (conv.peers ?? []).map((p) => `@${p.handle}`).join(', ');
  if (conv.kind === 'direct') return conv.peer ? `@${conv.peer.handle}` : 'Direct message';
  return conv.name;
}

/** Fetch JSON from the panel with the session cookie (and the CSRF token for writes). */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const csrf = csrfToken();
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json', 'x-csrf-token': csrf } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!res.ok) {
    const detail = ((await res.json().catch(() => ({}))) as { error?: string }).error;
    throw new Error(detail ?? `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

export class ChatStore {
  readonly connection: ChatConnection;
  readonly rooms = new Map<number, RoomState>();
  state: ConnectionState = 'connecting';
  stateDetail: StateDetail = {};
  currentId: number | null = null;
  maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  loaded = false;
  loadError: string | null = null;
  /** Messages that notified (DM or mention) while the tab was hidden: the title badge. */
  hiddenAlerts = 0;
  /** Set by the app: shows a browser notification. */
  notify: ((conv: Conversation, message: ChatMessage) => void) | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly roomListeners = new Map<number, Set<(event: RoomEvent) => void>>();
  private readonly mention: RegExp;
  /** Users whose @room is a mention (moderators and admins, from the panel). */
  private roomMentioners = new Set<number>();
  private scheduled = false;
  private refreshing: Promise<void> | null = null;
  /** A list read asked for while one was on its way (which may have started before the change it is for). */
  private refreshAgain: Promise<void> | null = null;
  /** A hello was seen: the next one is a reconnect. */
  private connectedBefore = false;
  /** My reactions not yet committed (made offline, or on a socket that died): re-sent until `reacted`. */
  private readonly reactions = new ReactionOutbox();
  /** Rooms whose reactions wait to be sent again after the server said "too fast" (or was unavailable). */
  private readonly reactionRetries = new Map<number, ReturnType<typeof setTimeout>>();
  /**
   * Mute settings written here that a list read may not show yet: a read that started before the
   * write finished carries the old value and must not undo the toggle on screen.
   */
  private readonly muteWrites = new Map<number, { done: boolean }>();

  constructor(readonly me: UserInfo, chatUrl: string, options: ConstructorParameters<typeof ChatConnection>[2] = {}) {
    this.mention = mentionRegex(me.handle);
    this.connection = new ChatConnection(chatUrl, {
      state: (state, detail) => {
        this.state = state;
        this.stateDetail = detail;
        this.changed();
      },
      hello: (_user, limits) => {
        if (limits?.maxMessageBytes) this.maxMessageBytes = limits.maxMessageBytes;
        // Back after a drop: `conversation` frames sent meanwhile were missed, so read the list again.
        if (this.connectedBefore) void this.refresh();
        this.connectedBefore = true;
      },
      conversation: () => void this.refresh(),
    }, { pingEveryMs: 2_000, ...options });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Room-level events the message list reacts to (scrolling), besides the general change. */
  onRoomEvent(roomId: number, listener: (event: RoomEvent) => void): () => void {
    let set = this.roomListeners.get(roomId);
    if (!set) this.roomListeners.set(roomId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Coalesce bursts (a resume replays many frames) into one render per frame. */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }

  private emit(roomId: number, event: RoomEvent): void {
    for (const l of this.roomListeners.get(roomId) ?? []) l(event);
  }

  get current(): RoomState | null {
    return this.currentId === null ? null : this.rooms.get(this.currentId) ?? null;
  }

  isMe(user: { id: number }): boolean {
    return user.id === this.me.id;
  }

  mentionsMe(message: ChatMessage): boolean {
    return !message.deletedAt && (this.mention.test(message.body) || (this.canMentionRoom(message.author) && ROOM_MENTION.test(message.body)) || this.repliesToMe(message));
  }

  /** A reply to one of my messages notifies me like a mention (the server counts it the same way). */
  repliesToMe(message: ChatMessage): boolean {
    return message.replyTo?.author?.id === this.me.id && !this.isMe(message.author);
  }

  /** Whether I reacted with `emoji` (a reaction not committed yet counts; else from the listed user ids: exact up to the listed count). */
  reactedWith(message: ChatMessage, emoji: string): boolean {
    return this.reactions.wanted(message.roomId, message.seq, emoji)
      ?? message.reactions?.some((r) => r.emoji === emoji && r.userIds.includes(this.me.id)) ?? false;
  }

  /**
   * Toggle my reaction: shown at once, and the server is told the wanted state (idempotent), now and,
   * until it answers `reacted`, again whenever the room catches up after a reconnect (so one made
   * offline is not lost). The committed state comes back as `updated`.
   */
  react(roomId: number, message: ChatMessage, emoji: string): void {
    const room = this.rooms.get(roomId);
    const index = room ? this.loadedIndex(room, message.seq) : -1;
    const shown = index >= 0 ? room!.messages[index]! : message;
    const on = !this.reactedWith(shown, emoji);
    this.reactions.want(shown, emoji, on);
    this.connection.react(roomId, message.seq, emoji, on);
    this.showMessages(roomId, [shown]);
  }

  /** Send a room's outstanding reactions again (it caught up); show the given-up ones as they are. */
  private resendReactions(roomId: number): void {
    const { due, restore } = this.reactions.resend(roomId);
    for (const wish of due) this.connection.react(roomId, wish.seq, wish.emoji, wish.on);
    this.showMessages(roomId, restore);
  }

  /** Put these states of loaded messages on screen, with my outstanding reactions over them. */
  private showMessages(roomId: number, messages: ChatMessage[]): void {
    const room = this.rooms.get(roomId);
    if (!room || !messages.length) return;
    for (const message of messages) {
      const index = this.loadedIndex(room, message.seq);
      if (index >= 0) room.messages[index] = this.reactions.overlay(message, this.me);
    }
    this.changed();
  }

  /** Where a loaded message is in room.messages (contiguous by seq), or -1. */
  private loadedIndex(room: RoomState, seq: number): number {
    const first = room.messages[0];
    const index = first ? seq - first.seq : -1;
    return index >= 0 && index < room.messages.length && room.messages[index]!.seq === seq ? index : -1;
  }

  /** Reply to `message` with the next send (null: cancel). */
  setReplyTo(roomId: number, message: ChatMessage | null): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.replyingTo = message;
    this.changed();
  }

  /**
   * Scroll to a message and highlight it (a reply's quote was clicked). Loaded messages only: older
   * pages are fetched until it is loaded (the list scrolls once it is).
   */
  jumpTo(roomId: number, seq: number): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.highlightSeq = seq;
    const first = room.messages[0];
    if (first && seq < first.seq) this.loadOlder(roomId);
    this.changed();
    this.emit(roomId, { type: 'jump', seq });
  }

  /** Only moderators' and admins' @room mentions everyone; anyone else's is plain text. */
  canMentionRoom(author: { id: number }): boolean {
    return this.roomMentioners.has(author.id);
  }

  /** Load the conversation list (unless the page embedded it) and watch every conversation on the one socket. */
  async start(): Promise<void> {
    if (!this.loaded) await this.refresh();
    this.connection.start();
  }

  /** The list the page embedded (and the open conversation's members): the first render needs no request. */
  seed(conversations: Conversation[], roomId: number | null, members: UserRef[] | null, roomMentioners: number[] = []): void {
    this.roomMentioners = new Set(roomMentioners);
    this.apply(conversations);
    this.loaded = true;
    const room = roomId === null ? undefined : this.rooms.get(roomId);
    if (room && members) room.members = members;
  }

  /** Re-read the list (a `conversation` frame, a reconnect, or a room we were not watching was opened). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      // The read on its way may have begun before the change we were just told about: read once more after it.
      this.refreshAgain ??= this.refreshing.then(() => {
        this.refreshAgain = null;
        return this.refresh();
      });
      return this.refreshAgain;
    }
    this.refreshing = (async () => {
      // Writes finished before this read began are in its answer; the others keep what is on screen.
      const settled = [...this.muteWrites].filter(([, w]) => w.done);
      try {
        const { conversations, roomMentioners } = await api<{ conversations: Conversation[]; roomMentioners?: number[] }>('/api/conversations');
        if (roomMentioners) this.roomMentioners = new Set(roomMentioners);
        for (const [id, w] of settled) if (this.muteWrites.get(id) === w) this.muteWrites.delete(id);
        this.apply(conversations);
        this.loadError = null;
      } catch (err) {
        this.loadError = (err as Error).message;
      } finally {
        this.loaded = true;
        this.refreshing = null;
        this.changed();
      }
    })();
    return this.refreshing;
  }

  private apply(conversations: Conversation[]): void {
    const seen = new Set<number>();
    for (const conv of conversations) {
      seen.add(conv.id);
      const room = this.rooms.get(conv.id);
      if (room) {
        // Live counters are ahead of (or equal to) the list: keep the higher read pointer and last seq,
        // and take the server's counts only when it has read further (another device) or before live.
        const serverReadFurther = conv.lastReadSeq > room.conv.lastReadSeq;
        const lastReadSeq = Math.max(room.conv.lastReadSeq, conv.lastReadSeq);
        const notificationsMuted = this.muteWrites.has(conv.id) ? room.conv.notificationsMuted : conv.notificationsMuted;
        room.conv = { ...conv, lastReadSeq, lastSeq: Math.max(room.conv.lastSeq, conv.lastSeq), unread: room.conv.unread, mentionSeqs: room.conv.mentionSeqs, notificationsMuted };
        if (serverReadFurther || !room.ready) {
          room.conv.unread = conv.unread;
          room.conv.mentionSeqs = conv.mentionSeqs;
        }
        continue;
      }
      this.rooms.set(conv.id, newRoom(conv));
      this.watch(conv.id);
    }
    for (const [id, room] of this.rooms) {
      if (seen.has(id) || room.removed) continue;
      // No longer a conversation of ours (removed, left): stop receiving it.
      this.connection.unwatch(id);
      this.reactions.forget(id);
      if (id === this.currentId) {
        room.removed = true;
        room.notice = 'You are no longer a member of this conversation.';
      } else this.rooms.delete(id);
    }
  }

  private watch(roomId: number): void {
    this.connection.watch(roomId, {
      joined: (info) => this.onJoined(roomId, info),
      message: (m, live) => this.onMessage(roomId, m, live),
      caughtUp: () => {
        const room = this.rooms.get(roomId);
        if (!room) return;
        const first = !room.ready;
        room.ready = true;
        if (room.jump !== null) this.fetchJump(room);
        // A failed send that the server stored after all (a resend) is no longer pending.
        room.pending = room.pending.filter((p) => p.status === 'failed' || this.connection.isPending(p.clientId));
        this.resendReactions(roomId);
        this.changed();
        this.emit(roomId, { type: first ? 'ready' : 'resumed' });
      },
      updated: (m) => this.onUpdated(roomId, m),
      history: (messages, hasMore, frame) => {
        if (frame.aroundSeq !== undefined) this.onWindow(roomId, messages, hasMore, frame.hasNewer ?? false);
        else if (frame.afterSeq !== undefined) this.onNewer(roomId, frame.afterSeq, messages, frame.hasNewer ?? false);
        else this.onHistory(roomId, messages, hasMore);
      },
      ack: () => this.changed(),
      reacted: (frame) => this.reactions.settle(roomId, frame.seq, frame.emoji, frame.on),
      presence: (users, count, listed) => {
        const room = this.rooms.get(roomId);
        if (!room) return;
        // A big room's diffs carry only the count: keep the pages fetched for the details pane.
        if (listed || users.length) room.presence = users;
        room.presenceCount = count;
        room.presenceListed = listed;
        if (listed) room.presenceHasMore = false;
        this.changed();
      },
      presenceList: (frame) => {
        const room = this.rooms.get(roomId);
        if (!room) return;
        if (frame.after === undefined) room.presence = frame.users;
        else {
          // A later page of a list that changes meanwhile: never show anyone twice.
          const shown = new Set(room.presence.map((u) => u.id));
          room.presence = [...room.presence, ...frame.users.filter((u) => !shown.has(u.id))];
        }
        room.presenceCount = frame.count;
        room.presenceHasMore = frame.hasMore;
        this.changed();
      },
      typing: (user) => {
        const room = this.rooms.get(roomId);
        if (!room || this.isMe(user)) return;
        room.typing.set(user.id, { user, until: Date.now() + 4_000 });
        this.changed();
      },
      moderation: (frame) => this.onModeration(roomId, frame),
      archived: (archived) => {
        const room = this.rooms.get(roomId);
        if (!room) return;
        room.conv.archived = archived;
        room.notice = archived ? 'This room is archived: it is read-only now.' : 'This room is open again.';
        this.changed();
      },
      read: (seq) => this.onRead(roomId, seq),
      removed: () => {
        const room = this.rooms.get(roomId);
        if (!room) return;
        room.removed = true;
        room.pending = [];
        room.presence = [];
        this.reactions.forget(roomId);
        room.notice = 'You were removed from this room. You no longer receive its messages.';
        if (roomId !== this.currentId) this.rooms.delete(roomId);
        this.changed();
      },
      error: (code, message, ref, retryInMs) => this.onError(roomId, code, message, ref, retryInMs),
    });
  }

  private onJoined(roomId: number, info: RoomInfo): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.conv.archived = info.archived;
    this.changed();
  }

  private onMessage(roomId: number, message: ChatMessage, live: boolean): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const last = room.messages.at(-1);
    if (!last || message.seq === last.seq + 1) room.messages.push(message);
    else if (message.seq > last.seq && !room.gapAfter) {
      // A fresh join after a long absence: the stream starts far after what we had. Start over.
      room.messages = [message];
      room.hasMore = message.seq > 1;
    }
    if (room.messages.length === 1) room.hasMore = message.seq > 1;
    room.pending = room.pending.filter((p) => p.clientId !== message.clientId || !this.isMe(message.author));
    room.typing.delete(message.author.id);
    const wasKnown = message.seq <= room.conv.lastSeq;
    room.conv.lastSeq = Math.max(room.conv.lastSeq, message.seq);
    room.conv.lastActivityAt = message.createdAt;
    // Showing an older window: a live message only counts; it closes the gap once it is the next one.
    if (room.gapAfter) room.gapAfter = (room.messages.at(-1)?.seq ?? 0) < room.conv.lastSeq;
    if (this.isMe(message.author)) {
      // Writing in a conversation means having read it.
      this.markRead(roomId, message.seq);
    } else if (message.seq > room.conv.lastReadSeq && !wasKnown && !message.deletedAt) {
      room.conv.unread++;
      const mention = this.mentionsMe(message);
      if (mention) room.conv.mentionSeqs = [...room.conv.mentionSeqs, message.seq];
      if (live && (mention || room.conv.kind === 'direct') && !room.conv.notificationsMuted) {
        const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
        if (hidden) this.hiddenAlerts++;
        if (hidden || roomId !== this.currentId) this.notify?.(room.conv, message);
      }
    }
    this.changed();
    this.emit(roomId, { type: 'message', message, mine: this.isMe(message.author) });
  }

  private onUpdated(roomId: number, update: ChatMessage): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    if (update.deletedAt) this.reactions.forget(roomId, update.seq);
    this.reactions.serverState(update);
    // My reactions not committed yet stay on screen over the server's state.
    const message = this.reactions.overlay(update, this.me);
    const index = this.loadedIndex(room, message.seq);
    if (index >= 0) {
      room.messages[index] = message;
      if (message.deletedAt) room.conv.mentionSeqs = room.conv.mentionSeqs.filter((s) => s !== message.seq);
      this.changed();
    }
    // Replies quote the original as it is now: follow its edit or delete.
    if (message.version !== undefined) {
      for (let i = 0; i < room.messages.length; i++) {
        const reply = room.messages[i]!;
        if (reply.replyTo?.seq !== message.seq) continue;
        room.messages[i] = { ...reply, replyTo: { ...reply.replyTo, excerpt: message.deletedAt ? '' : message.body.slice(0, REPLY_EXCERPT_CHARS), deleted: Boolean(message.deletedAt) } };
        this.changed();
      }
    }
  }

  private onHistory(roomId: number, messages: ChatMessage[], hasMore: boolean): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.loadingOlder = false;
    const first = room.messages[0];
    const older = first ? messages.filter((m) => m.seq < first.seq) : messages;
    // Only a page that ends right before what we have keeps the list contiguous.
    if (first && older.length && older.at(-1)!.seq !== first.seq - 1) return void this.changed();
    room.messages = [...older, ...room.messages];
    room.hasMore = hasMore && (room.messages[0]?.seq ?? 1) > 1;
    this.changed();
    this.emit(roomId, { type: 'history', count: older.length });
    // Still looking for a message to jump to: keep loading (a page at a time) until it is here.
    const target = room.highlightSeq;
    if (target !== null && room.messages[0] && target < room.messages[0].seq && room.hasMore) this.loadOlder(roomId);
    else if (target !== null) this.emit(roomId, { type: 'jump', seq: target });
  }

  /** A window around a seq (aroundSeq): it replaces what was loaded; the live end may be far below. */
  private onWindow(roomId: number, messages: ChatMessage[], hasMore: boolean, hasNewer: boolean): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.loadingOlder = false;
    room.loadingNewer = false;
    if (!messages.length) {
      room.jump = null; // the message is gone (or never was): stay where we are
      return void this.changed();
    }
    room.messages = messages;
    room.hasMore = hasMore && messages[0]!.seq > 1;
    room.gapAfter = hasNewer || messages.at(-1)!.seq < room.conv.lastSeq;
    this.changed();
    this.emit(roomId, { type: 'window' });
  }

  /** A forward page (afterSeq): appended when it starts right after what we have. */
  private onNewer(roomId: number, afterSeq: number, messages: ChatMessage[], hasNewer: boolean): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.loadingNewer = false;
    const last = room.messages.at(-1);
    if (!last || last.seq !== afterSeq || !room.gapAfter) return void this.changed();
    const newer = messages.filter((m) => m.seq > last.seq);
    room.messages.push(...newer);
    const end = room.messages.at(-1)!.seq;
    room.conv.lastSeq = Math.max(room.conv.lastSeq, end);
    // A message committed while the page was read came as a live frame (and was only counted): page again.
    room.gapAfter = hasNewer || end < room.conv.lastSeq;
    this.changed();
    this.emit(roomId, { type: 'newer', count: newer.length });
  }

  /** Open the room at `seq` (a search result): load a window around it unless it is loaded already. */
  openAt(roomId: number, seq: number): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.jump = seq;
    this.fetchJump(room);
    this.changed();
  }

  private fetchJump(room: RoomState): void {
    const seq = room.jump;
    const first = room.messages[0];
    const last = room.messages.at(-1);
    if (seq === null || (first && last && first.seq <= seq && seq <= last.seq)) return;
    // Before the room's first caught_up the socket has not joined it: caughtUp calls this again.
    if (!room.ready) return;
    this.connection.loadAround(room.conv.id, seq, 100);
  }

  /** Page forward from an older window towards the live end. */
  loadNewer(roomId: number): void {
    const room = this.rooms.get(roomId);
    const last = room?.messages.at(-1);
    if (!room || !last || !room.gapAfter || room.loadingNewer) return;
    room.loadingNewer = true;
    this.connection.loadNewer(roomId, last.seq, 100);
    this.changed();
  }

  /** Leave an older window for the latest messages (Jump to latest, sending, reopening the room). */
  returnToLive(roomId: number): void {
    const room = this.rooms.get(roomId);
    if (!room?.gapAfter) return;
    room.jump = null;
    this.connection.loadAround(roomId, room.conv.lastSeq, 100);
  }

  private onRead(roomId: number, seq: number): void {
    const room = this.rooms.get(roomId);
    if (!room || seq <= room.conv.lastReadSeq) return;
    this.setRead(room, seq);
    this.changed();
  }

  private setRead(room: RoomState, seq: number): void {
    room.conv.lastReadSeq = seq;
    room.conv.mentionSeqs = room.conv.mentionSeqs.filter((s) => s > seq);
    if (seq >= room.conv.lastSeq) room.conv.unread = 0;
    else {
      const first = room.messages[0];
      if (first && first.seq <= seq + 1) {
        room.conv.unread = room.messages.filter((m) => m.seq > seq && !m.deletedAt && !this.isMe(m.author)).length;
      } else room.conv.unread = Math.min(room.conv.unread, room.conv.lastSeq - seq);
    }
  }

  /** The person has seen the room up to `seq`: moves the read pointer here, on the server and in other tabs. */
  markRead(roomId: number, seq: number): void {
    const room = this.rooms.get(roomId);
    if (!room || seq <= room.conv.lastReadSeq) return;
    this.setRead(room, seq);
    this.connection.markRead(roomId, seq);
    this.changed();
  }

  private onModeration(roomId: number, frame: Extract<ServerFrame, { type: 'moderation' }>): void {
    const room = this.rooms.get(roomId);
    if (!room || frame.userId !== this.me.id) return;
    if (frame.action === 'muted') {
      room.mutedUntil = frame.until ? new Date(frame.until) : new Date(Date.now() + 365 * 86_400_000);
      const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(room.mutedUntil);
      room.notice = `A moderator muted you in this room until ${time}. You can still read along.`;
    } else if (frame.action === 'unmuted') {
      room.mutedUntil = null;
      room.notice = 'A moderator unmuted you in this room.';
    }
    this.changed();
  }

  private onError(roomId: number, code: string, message: string, ref?: string, retryInMs?: number): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    // An error answering a `react` names the message and emoji (reactionRef); no other error is about one.
    const reaction = parseReactionRef(ref);
    if (reaction && this.onReactionError(roomId, reaction.seq, reaction.emoji, code, retryInMs)) return void this.changed();
    const pending = ref && !reaction ? room.pending.find((p) => p.clientId === ref) : undefined;
    if (pending && !this.connection.isPending(ref!)) {
      // A final refusal: the message stays on screen, editable, with Retry and Discard.
      pending.status = 'failed';
      pending.error = message;
    } else if (!pending) {
      room.error = message;
    }
    if (code === 'muted' && !room.mutedUntil) room.notice = message;
    this.changed();
  }

  /**
   * The server's error for my reaction `emoji` on message `seq`. "Too fast" or a passing failure: sent
   * again after the wait, not counted as a resend (true: nothing to tell the person). `not_joined` (sent
   * before a rejoin finished): the catch-up sends it again. Anything else is its refusal: that wish is
   * dropped and the message shown as the server has it.
   */
  private onReactionError(roomId: number, seq: number, emoji: string, code: string, retryInMs: number | undefined): boolean {
    if (code === 'not_joined') return false;
    if (code !== 'rate_limited' && code !== 'unavailable' && code !== 'internal') {
      this.showMessages(roomId, this.reactions.refused(roomId, seq, emoji));
      return false;
    }
    if (!this.reactions.throttle(roomId, seq, emoji)) return true; // answered or replaced meanwhile
    if (!this.reactionRetries.has(roomId)) {
      this.reactionRetries.set(roomId, setTimeout(() => {
        this.reactionRetries.delete(roomId);
        if (!this.rooms.has(roomId)) return;
        for (const wish of this.reactions.retryThrottled(roomId)) this.connection.react(roomId, wish.seq, wish.emoji, wish.on);
      }, Math.min(Math.max(retryInMs ?? 1_000, 50), 30_000)));
    }
    return true;
  }

  open(roomId: number | null): void {
    this.currentId = roomId;
    const room = roomId === null ? null : this.rooms.get(roomId);
    if (room) room.error = null;
    // Reopened after reading an older window: back to the latest messages (unless opened at a result).
    if (room?.gapAfter && room.jump === null) this.returnToLive(room.conv.id);
    this.changed();
  }

  /** Open a conversation we may not have in the list yet (a public room just joined, a new DM). */
  async ensure(roomId: number): Promise<void> {
    if (this.rooms.has(roomId)) return;
    await this.refresh();
  }

  /** Send a message (with files already uploaded); the caller checked its size. Returns its client id. */
  send(roomId: number, body: string, attachments: AttachmentRef[] = []): string {
    const room = this.rooms.get(roomId)!;
    const pending = this.dispatch(roomId, { body, replyTo: room.replyingTo ?? undefined, attachments });
    this.returnToLive(roomId);
    room.pending.push(pending);
    room.replyingTo = null;
    room.error = null;
    this.changed();
    this.emit(roomId, { type: 'sent' });
    return pending.clientId;
  }

  /** Send a refused message again, in its place in the list (as a new send: a fresh client id). */
  retry(roomId: number, clientId: string): void {
    const room = this.rooms.get(roomId);
    const index = room?.pending.findIndex((p) => p.clientId === clientId) ?? -1;
    if (!room || index < 0) return;
    room.pending[index] = this.dispatch(roomId, room.pending[index]!);
    this.changed();
  }

  /** The one way a message goes out (send and retry): handed to the connection's outbox, shown as sending. */
  private dispatch(roomId: number, draft: { body: string; replyTo?: ChatMessage | undefined; attachments?: AttachmentRef[] | undefined }): PendingSend {
    const { body, replyTo, attachments } = draft;
    const clientId = this.connection.send(roomId, body, undefined, replyTo?.seq, attachments?.map((a) => a.id));
    const pending: PendingSend = { clientId, body, status: 'sending' };
    if (replyTo) pending.replyTo = replyTo;
    if (attachments?.length) pending.attachments = attachments;
    return pending;
  }

  discard(roomId: number, clientId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.connection.discard(clientId);
    room.pending = room.pending.filter((p) => p.clientId !== clientId);
    this.changed();
  }

  loadOlder(roomId: number): void {
    const room = this.rooms.get(roomId);
    const first = room?.messages[0];
    if (!room || !first || !room.hasMore || room.loadingOlder) return;
    room.loadingOlder = true;
    this.connection.loadOlder(roomId, first.seq, 100);
    this.changed();
  }

  /**
   * Fetch who is online in a big room (the server sends only its count): the first page, or with
   * `more` the page after the ones already shown. Nothing to do for small rooms (kept complete).
   */
  loadPresence(roomId: number, more = false): void {
    const room = this.rooms.get(roomId);
    if (!room || room.presenceListed) return;
    this.connection.presenceList(roomId, more ? room.presence.at(-1)?.handle : undefined, 100);
  }

  async loadMembers(roomId: number): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) return;
    try {
      const detail = await api<{ members: UserRef[]; mutedUntil: string | null }>(`/api/conversations/${roomId}`);
      room.members = detail.members;
      if (detail.mutedUntil && new Date(detail.mutedUntil).getTime() > Date.now() && !room.mutedUntil) {
        room.mutedUntil = new Date(detail.mutedUntil);
        const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(room.mutedUntil);
        room.notice = `A moderator muted you in this room until ${time}. You can still read along.`;
      }
      this.changed();
    } catch {
      // the details pane shows what it has
    }
  }

  /** Leave a group conversation: gone from the list once the server agrees; false (with room.error) otherwise. */
  async leave(roomId: number): Promise<boolean> {
    const room = this.rooms.get(roomId);
    if (!room) return false;
    try {
      await api(`/api/conversations/${roomId}/leave`, { method: 'POST', body: {} });
    } catch (err) {
      room.error = `You are still in this conversation: ${err instanceof Error ? err.message : String(err)}`;
      this.changed();
      return false;
    }
    this.connection.unwatch(roomId);
    this.reactions.forget(roomId);
    this.rooms.delete(roomId);
    if (this.currentId === roomId) this.currentId = null;
    this.changed();
    return true;
  }

  /** Close a direct conversation in the sidebar until its next message; false (with room.error) if the server refused. */
  async hide(roomId: number): Promise<boolean> {
    const room = this.rooms.get(roomId);
    if (!room) return false;
    try {
      await api(`/api/conversations/${roomId}/hide`, { method: 'POST', body: {} });
    } catch (err) {
      room.error = `The conversation was not closed: ${err instanceof Error ? err.message : String(err)}`;
      this.changed();
      return false;
    }
    room.conv.hiddenThroughSeq = room.conv.lastSeq;
    if (this.currentId === roomId) this.currentId = null;
    this.changed();
    return true;
  }

  /**
   * The person went to a closed direct conversation (a link, the quick switcher, back): it is open
   * again, here at once and, through the server, in their other tabs and devices. If the write fails the
   * next list read shows what the server has.
   */
  async reopen(roomId: number): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room || room.conv.kind !== 'direct' || !isHidden(room.conv)) return;
    room.conv.hiddenThroughSeq = null;
    this.changed();
    await api(`/api/conversations/${roomId}/reopen`, { method: 'POST', body: {} }).catch(() => undefined);
  }

  async setNotificationsMuted(roomId: number, muted: boolean): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.conv.notificationsMuted = muted;
    const write = { done: false };
    this.muteWrites.set(roomId, write);
    this.changed();
    try {
      await api(`/api/conversations/${roomId}/notifications`, { method: 'POST', body: { muted } });
    } catch {
      room.conv.notificationsMuted = !muted;
      room.error = 'The notification setting was not saved. Try again.';
      this.changed();
    } finally {
      write.done = true;
    }
  }
}

export type RoomEvent =
  | { type: 'ready' }
  | { type: 'resumed' }
  | { type: 'message'; message: ChatMessage; mine: boolean }
  | { type: 'history'; count: number }
  /** A window around a seq replaced the loaded messages. */
  | { type: 'window' }
  /** `count` newer messages were appended to an older window. */
  | { type: 'newer'; count: number }
  | { type: 'sent' }
  | { type: 'jump'; seq: number };

function newRoom(conv: Conversation): RoomState {
  return {
    conv, messages: [], hasMore: conv.lastSeq > 0, loadingOlder: false, gapAfter: false, loadingNewer: false, jump: null, pending: [], presence: [], presenceCount: 0, presenceListed: true, presenceHasMore: false,
    typing: new Map(), mutedUntil: null, removed: false, ready: false, members: null, notice: null, error: null,
    replyingTo: null, highlightSeq: null,
  };
}
