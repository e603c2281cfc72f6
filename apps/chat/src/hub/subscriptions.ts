// Which sockets of this replica are in which room: join (access check, subscribe, backlog replay from
// Postgres with a gap-free seam to live delivery, `caught_up`), leave, and access removals and archive
// changes (including joins that race with them).
import type { Logger } from '@parley/logging';
import { type ServerFrame, CloseCode, ErrorCode } from '@parley/protocol';
import type { MessageRepository, RoomAccess } from '../messages/message-repository.ts';
import type { Connection, ErrorExtra } from './connection.ts';
import type { PresenceGlue } from './presence-glue.ts';
import type { HubCounters } from './replica-stats.ts';
import { RoomState, type Subscriber } from './room-state.ts';
import type { HubMetrics } from '../metrics.ts';

const INITIAL_HISTORY = 50;
/**
 * Backlog replays of one user running at once on this replica; more wait their turn. A client joining a
 * 500-room sidebar (or rejoining in a loop) then queries Postgres a few rooms at a time, not all at once.
 */
const REPLAYS_PER_USER = 4;

export type Reject = (conn: Connection, code: ErrorCode, message: string, extra?: ErrorExtra) => void;

export interface SubscriptionDeps {
  messages: MessageRepository;
  historyPageSize: number;
  maxRoomsPerSocket: number;
  presence: PresenceGlue;
  counters: HubCounters;
  reject: Reject;
  log: Logger;
  metrics?: HubMetrics;
  /**
   * The room's first socket here joined / its last one left: the bus starts / stops bringing its events.
   * `roomOpened` resolves once they flow (bounded: see Bus.watchRoom).
   */
  roomOpened?: (roomId: number) => Promise<void>;
  roomClosed?: (roomId: number) => void;
}

export class Subscriptions {
  private readonly rooms = new Map<number, RoomState>();
  /**
   * Access removals seen lately ("room:user" → removal number and time), so a join that checked access
   * just before a removal arrived does not subscribe after it (see join).
   */
  private readonly removals = new Map<string, { n: number; at: number }>();
  private removalCount = 0;
  /** Archive changes seen lately (room → change number, state, time), for joins racing with them. */
  private readonly archiveChanges = new Map<number, { n: number; archived: boolean; at: number }>();
  private archiveCount = 0;
  /** Mute changes seen lately ("room:user", room "*" for all rooms), for joins racing with them. */
  private readonly muteChanges = new Map<string, { n: number; until: number; at: number }>();
  private muteCount = 0;
  /** Running replays and those waiting for a slot, per user. */
  private readonly replaySlots = new Map<number, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly deps: SubscriptionDeps) {}

  /** The room's state on this replica, if any socket here joined it. */
  room(roomId: number): RoomState | undefined {
    return this.rooms.get(roomId);
  }

  roomIds(): number[] {
    return [...this.rooms.keys()];
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Forget race-guard entries older than a minute (no join is in flight that long). */
  expire(now = Date.now()): void {
    for (const [key, r] of this.removals) if (r.at + 60_000 < now) this.removals.delete(key);
    for (const [room, c] of this.archiveChanges) if (c.at + 60_000 < now) this.archiveChanges.delete(room);
    for (const [key, c] of this.muteChanges) if (c.at + 60_000 < now) this.muteChanges.delete(key);
  }

  /** The room's state on this replica, made from the joiner's own access read (no second query). */
  private roomState(roomId: number, access: RoomAccess): RoomState {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    // Starts at the room's last seq as read: anything after it arrives by event or is repaired from Postgres.
    const state = new RoomState(access.room, access.lastSeq, this.deps.messages, (err) => this.deps.log.error({ err, room: roomId }, 'gap repair failed'), this.deps.metrics && ((path, seconds) => this.deps.metrics!.fanout.observe({ path }, seconds)));
    this.rooms.set(roomId, state);
    const live = this.deps.roomOpened?.(roomId);
    if (live) state.live = live;
    return state;
  }

  private releaseIfEmpty(roomId: number, state: RoomState): void {
    if (state.subs.size || this.rooms.get(roomId) !== state) return;
    this.rooms.delete(roomId);
    this.deps.roomClosed?.(roomId);
  }

  /**
   * Join (or rejoin) a room. Returns once the subscription is registered, so frames after the join
   * (sends) see it; the backlog replay continues in the background and ends with `caught_up`.
   */
  async join(conn: Connection, roomId: number, sinceSeq: number | undefined, sinceVersion?: number, presenceDiffs = false): Promise<void> {
    const { messages, reject, counters, log } = this.deps;
    const removalsBefore = this.removalCount;
    const archiveChangesBefore = this.archiveCount;
    const mutesBefore = this.muteCount;
    if (!conn.rooms.has(roomId) && conn.rooms.size >= this.deps.maxRoomsPerSocket) {
      return reject(conn, ErrorCode.TooManyRooms, `this socket has joined ${conn.rooms.size} rooms, the limit; leave one first`, { room: roomId });
    }
    const access = await messages.roomAccess(roomId, conn.user.id);
    if (!access || (access.room.kind !== 'public' && !access.isMember)) {
      // Same answer for "missing" and "private": do not reveal which private rooms exist.
      return reject(conn, ErrorCode.NotFound, `room ${roomId} does not exist or you are not a member`, { room: roomId });
    }
    if (conn.closed) return;
    if (conn.rooms.has(roomId)) this.unsubscribe(conn, roomId);
    const state = this.roomState(roomId, access);
    // Access was taken away while the checks above were in flight: the removal found no subscription
    // to end, so refuse here (synchronously with subscribing, so no later removal can slip between).
    const removal = this.removals.get(`${roomId}:${conn.user.id}`);
    if (removal && removal.n > removalsBefore) {
      this.releaseIfEmpty(roomId, state);
      return reject(conn, ErrorCode.NotFound, `room ${roomId} does not exist or you are not a member`, { room: roomId });
    }
    // A mute change that arrived while the checks were in flight is newer than what access says.
    const mute = [this.muteChanges.get(`${roomId}:${conn.user.id}`), this.muteChanges.get(`*:${conn.user.id}`)]
      .filter((c) => c !== undefined && c.n > mutesBefore).sort((a, b) => b!.n - a!.n)[0];
    conn.joinRoom({ roomId, mutedUntil: mute ? mute.until : access.mutedUntil?.getTime() ?? 0, lastTypingAt: 0 });
    const sub: Subscriber = {
      connId: conn.id,
      catchingUp: true,
      buffer: [],
      seq: 0,
      sendRaw: (f) => conn.sendRaw(f),
      sendShared: (f) => conn.deliver(f),
      presenceDiffs,
      overflow: () => {
        counters.slowConsumersClosed++;
        conn.close(CloseCode.SlowConsumer, 'too far behind while catching up');
      },
    };
    state.subs.set(conn.id, sub);

    // Resume from the client's last seq, or start with the latest page of history.
    const from = sinceSeq !== undefined ? Math.min(sinceSeq, access.lastSeq) : Math.max(0, access.lastSeq - INITIAL_HISTORY);
    conn.send({ type: 'joined', room: access.room, lastSeq: access.lastSeq, resumedFrom: from });
    // Archived/unarchived after our read of the room: `joined` says the old state, so say the new one.
    const change = this.archiveChanges.get(roomId);
    if (change && change.n > archiveChangesBefore && change.archived !== access.room.archived) {
      conn.send({ type: 'archived', room: roomId, archived: change.archived });
    }
    // The joiner hears presence at once (the state its later diffs apply to); the room with the next push.
    const presence = this.deps.presence;
    presence.joined(roomId, conn.user);
    conn.sendRaw(presence.snapshot(roomId, presenceDiffs));
    // The backlog is read once the room's bus subscription is in effect, so `caught_up` means that every
    // later message arrives live through the bus (before it, one published meanwhile would only come
    // by repair).
    void this.withReplaySlot(conn.user.id, async () => {
      await state.live;
      await this.replay(conn, state, sub, roomId, from, sinceVersion);
    }).catch((err) => {
      if (state.subs.get(conn.id) !== sub) return;
      log.error({ err, room: roomId, conn: conn.id }, 'backlog replay failed; closing so the client resumes');
      conn.close(CloseCode.TryAgainLater, 'resume failed; reconnect');
    });
  }

  private async withReplaySlot(userId: number, work: () => Promise<void>): Promise<void> {
    let slots = this.replaySlots.get(userId);
    if (!slots) this.replaySlots.set(userId, (slots = { running: 0, waiting: [] }));
    if (slots.running >= REPLAYS_PER_USER) await new Promise<void>((r) => slots.waiting.push(r));
    slots.running++;
    try {
      await work();
    } finally {
      slots.running--;
      const next = slots.waiting.shift();
      if (next) next();
      else if (slots.running === 0) this.replaySlots.delete(userId);
    }
  }

  /**
   * Send the backlog after `from` from Postgres, page by page (no cap), then the live frames buffered
   * meanwhile. The buffer holds every message the room delivered since the subscription, and the last
   * Postgres page was read after it, so the two overlap: messages at or below the cursor are skipped
   * and the seam has neither a gap nor a duplicate.
   */
  private async replay(conn: Connection, state: RoomState, sub: Subscriber, roomId: number, from: number, sinceVersion: number | undefined): Promise<void> {
    const pageSize = this.deps.historyPageSize;
    const endTimer = this.deps.metrics?.resume.startTimer();
    const current = () => state.subs.get(conn.id) === sub && !conn.closed;
    // Resume: messages the client already has (at or below the resume point) that were edited or
    // deleted after the version it knows, as `updated` frames (those above it come fresh below).
    if (sinceVersion !== undefined && from > 0) {
      let version = sinceVersion;
      for (;;) {
        await conn.writable();
        if (!current()) return;
        const changed = await this.deps.messages.changedSince(roomId, from, version, pageSize);
        if (!current()) return;
        for (const message of changed) conn.send({ type: 'updated', room: roomId, message });
        if (changed.length < pageSize) break;
        version = changed.at(-1)!.version ?? version;
      }
    }
    let cursor = from;
    for (;;) {
      for (;;) {
        await conn.writable();
        if (!current()) return;
        const page = await this.deps.messages.after(roomId, cursor, pageSize);
        if (!current()) return;
        for (const message of page) {
          if (message.seq <= cursor) continue;
          conn.send({ type: 'message', room: roomId, message });
          cursor = message.seq;
        }
        if (page.length < pageSize) break;
      }
      // From here on synchronous: nothing can be delivered between draining the buffer and going live.
      const buffered = sub.buffer;
      sub.buffer = [];
      let gapAt = -1;
      for (let i = 0; i < buffered.length; i++) {
        const item = buffered[i]!;
        if (item.seq === null) {
          conn.deliver(item.frame);
        } else if (item.seq > cursor) {
          if (item.seq !== cursor + 1) {
            gapAt = i; // cannot happen by the argument above; if it does, fetch the gap from Postgres
            break;
          }
          conn.deliver(item.frame);
          cursor = item.seq;
        }
      }
      if (gapAt >= 0) {
        this.deps.counters.gapRepairs++;
        sub.buffer = buffered.slice(gapAt).concat(sub.buffer);
        continue;
      }
      sub.seq = cursor;
      sub.catchingUp = false;
      conn.send({ type: 'caught_up', room: roomId, seq: cursor });
      endTimer?.();
      this.deps.metrics?.resumeMessages.observe(cursor - from);
      return;
    }
  }

  /** A page of who is online in a joined room (`presence_list`). */
  presenceList(conn: Connection, roomId: number, after: string | undefined, limit: number): void {
    if (!conn.rooms.has(roomId)) return this.deps.reject(conn, ErrorCode.NotJoined, `you have not joined room ${roomId}`, { room: roomId });
    const page = this.deps.presence.page(roomId, after, limit);
    conn.send({ type: 'presence_list', room: roomId, ...page, ...(after === undefined ? {} : { after }) });
  }

  leave(conn: Connection, roomId: number): void {
    if (!conn.rooms.has(roomId)) return this.deps.reject(conn, ErrorCode.NotJoined, `you have not joined room ${roomId}`, { room: roomId });
    this.unsubscribe(conn, roomId);
    conn.send({ type: 'left', room: roomId });
  }

  unsubscribe(conn: Connection, roomId: number): void {
    conn.leaveRoom(roomId);
    const state = this.rooms.get(roomId);
    if (state) {
      state.subs.delete(conn.id);
      this.releaseIfEmpty(roomId, state);
    }
    this.deps.presence.left(roomId, conn.user.id);
  }

  /** The connection is gone: it leaves every room. */
  unsubscribeAll(conn: Connection): void {
    for (const roomId of [...conn.rooms.keys()]) this.unsubscribe(conn, roomId);
  }

  /** A user lost access to a room: their sockets among `connections` leave it and are told why. */
  accessRemoved(roomId: number, userId: number, connections: Iterable<Connection>): void {
    this.removals.set(`${roomId}:${userId}`, { n: ++this.removalCount, at: Date.now() });
    const frame = JSON.stringify({ type: 'left', room: roomId, reason: 'removed' } satisfies ServerFrame);
    for (const conn of connections) {
      if (conn.user.id !== userId || !conn.rooms.has(roomId)) continue;
      this.unsubscribe(conn, roomId);
      conn.sendRaw(frame);
    }
  }

  /** A user's mute in a room (null: every room) changed: their sockets here apply it at once. */
  muteChanged(userId: number, roomId: number | null, untilMs: number, connections: Iterable<Connection>): void {
    this.muteChanges.set(`${roomId ?? '*'}:${userId}`, { n: ++this.muteCount, until: untilMs, at: Date.now() });
    for (const conn of connections) {
      if (conn.user.id !== userId) continue;
      for (const joined of conn.rooms.values()) if (roomId === null || joined.roomId === roomId) joined.mutedUntil = untilMs;
    }
  }

  /** A room was archived or unarchived: everyone in it here is told (sends are refused by Postgres). */
  archiveChanged(roomId: number, archived: boolean): void {
    this.archiveChanges.set(roomId, { n: ++this.archiveCount, archived, at: Date.now() });
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.info.archived = archived;
    state.broadcast(JSON.stringify({ type: 'archived', room: roomId, archived } satisfies ServerFrame));
  }
}
