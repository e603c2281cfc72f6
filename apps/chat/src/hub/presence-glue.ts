// Presence between this replica's rooms and its peers: local joins/leaves are announced to peers as
// coalesced diffs (every ttl/3, and when a peer asks, in full), peers' announcements are applied, and
// each room's sockets get coalesced presence pushes (presence-pusher.ts).
import type { UserRef } from '@parley/protocol';
import type { BusEvent, BusEventOf } from '../bus/index.ts';
import { Presence } from './presence.ts';
import { type PresencePage, type PresencePush, PresencePusher } from './presence-pusher.ts';
import type { RoomState } from './room-state.ts';

/** Local changes are announced to peers at most once per this period (a burst becomes one event). */
const ANNOUNCE_MS = 100;
/** Most user changes in one diff announcement (a burst becomes several events, each well under 8 KB). */
const ANNOUNCE_MAX_CHANGES = 50;
/** A lost diff announcement makes this replica ask peers for full ones, at most once per this period. */
const SYNC_REQUEST_MS = 2_000;

export class PresenceGlue {
  readonly presence: Presence;
  private readonly pusher: PresencePusher;
  /** Local changes not yet announced: room -> user id -> the user (joined) or null (left). */
  private readonly pending = new Map<number, Map<number, UserRef | null>>();
  private flushTimer: NodeJS.Timeout | null = null;
  /** Sequence number of this replica's announcements (peers detect a lost diff by a gap). */
  private seq = 0;
  private lastSyncRequest = 0;

  constructor(
    private readonly replicaId: string,
    ttlMs: number,
    /** The room's local state, if it has sockets here. */
    private readonly room: (roomId: number) => RoomState | undefined,
    private readonly publish: (event: BusEvent) => void,
  ) {
    this.presence = new Presence(ttlMs, (roomId, userId) => this.pusher.changed(roomId, userId));
    this.pusher = new PresencePusher(this.presence, (roomId, frames) => this.send(roomId, frames));
  }

  /** A joiner's first presence frame (see PresencePusher.snapshot). */
  snapshot(roomId: number, diffs: boolean): Buffer {
    return this.pusher.snapshot(roomId, diffs);
  }

  /** A page of who is online in a room (for `presence_list`). */
  page(roomId: number, after: string | undefined, limit: number): PresencePage {
    return this.pusher.page(roomId, after, limit);
  }

  /** A connection joined the room. */
  joined(roomId: number, user: UserRef): void {
    if (this.presence.add(roomId, user)) this.changed(roomId, user.id, user);
  }

  left(roomId: number, userId: number): void {
    if (this.presence.remove(roomId, userId)) this.changed(roomId, userId, null);
    if (!this.room(roomId)) this.pusher.forget(roomId); // no sockets here: a later joiner gets a fresh snapshot
  }

  private changed(roomId: number, userId: number, user: UserRef | null): void {
    let room = this.pending.get(roomId);
    if (!room) this.pending.set(roomId, (room = new Map<number, UserRef | null>()));
    room.set(userId, user);
    this.flushTimer ??= setTimeout(() => this.announceChanges(), ANNOUNCE_MS);
  }

  private announceChanges(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending.size) return;
    // Events of at most ANNOUNCE_MAX_CHANGES changes each (NOTIFY payloads are limited to 8 KB).
    let rooms: BusEventOf<'presence_diff'>['rooms'] = {};
    let size = 0;
    const emit = () => {
      this.publish({ k: 'presence_diff', replica: this.replicaId, seq: ++this.seq, rooms, at: Date.now() });
      rooms = {};
      size = 0;
    };
    for (const [roomId, changes] of this.pending) {
      for (const [userId, user] of changes) {
        const diff = (rooms[roomId] ??= { joined: [], left: [] });
        if (user) diff.joined.push(user);
        else diff.left.push(userId);
        if (++size >= ANNOUNCE_MAX_CHANGES) emit();
      }
    }
    this.pending.clear();
    if (size) emit();
  }

  /** Send a push to the room's sockets: diff sockets get the diff, the others the full list. */
  private send(roomId: number, frames: PresencePush): boolean {
    const state = this.room(roomId);
    if (!state) return false;
    let full = false;
    for (const sub of state.subs.values()) if (!sub.presenceDiffs) full = true;
    // Both go through the room's queue: chunked, and in order with the room's messages.
    state.broadcast(frames.diff, (sub) => sub.presenceDiffs === true);
    if (full) state.broadcast(frames.full(), (sub) => !sub.presenceDiffs);
    return true;
  }

  /** Announce this replica's whole view (periodically, and when a peer asks). */
  announce(full: boolean): void {
    // Changes already pending are part of the full list; announcing them after it again is harmless.
    this.publish({ k: 'presence', replica: this.replicaId, rooms: this.presence.localSnapshot(), full, at: Date.now(), seq: ++this.seq });
  }

  applyRemote(event: BusEventOf<'presence'>): void {
    if (event.replica === this.replicaId) return;
    this.presence.applyRemote(event.replica, event.rooms, event.full, Date.now(), event.seq);
  }

  applyRemoteDiff(event: BusEventOf<'presence_diff'>): void {
    if (event.replica === this.replicaId) return;
    if (this.presence.applyRemoteDiff(event.replica, event.seq, event.rooms)) return;
    // A diff was lost (or this replica has not heard the sender's full list yet): ask for full lists.
    const now = Date.now();
    if (now - this.lastSyncRequest < SYNC_REQUEST_MS) return;
    this.lastSyncRequest = now;
    this.publish({ k: 'sync', from: this.replicaId });
  }

  dropReplica(replica: string): void {
    this.presence.dropReplica(replica);
  }

  expire(): void {
    this.presence.expire();
  }

  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.pusher.stop();
  }
}
