// Presence across replicas without shared storage: each replica announces who is connected to which
// room (changes as diffs, and in full every ttl/3); others keep that view until it expires. A replica
// that dies stops announcing, so its users vanish within PRESENCE_TTL_MS: no zombies, no cleanup job.
// The merged view (local + every peer) is kept per room with a source count per user, so a change costs
// O(1) and every flip of a user's presence in a room is reported to `onFlip` (the pusher).
import { PRESENCE_LIST_MAX, type ServerFrame, type UserRef } from '@parley/protocol';

export { PRESENCE_LIST_MAX };
/** Presence changes of a room are pushed to its sockets at most once per this period, coalesced. */
export const PRESENCE_PUSH_MS = 300;

// Same order as String#localeCompare, much cheaper per comparison.
const collator = new Intl.Collator();
export const byHandle = (a: UserRef, b: UserRef) => collator.compare(a.handle, b.handle);

/** One room's changes in a peer's diff announcement. */
export interface RoomDiff {
  joined: UserRef[];
  left: number[];
}

interface RemoteView {
  rooms: Map<number, Map<number, UserRef>>;
  expiresAt: number;
  /** Sequence number of the last announcement applied (diffs must follow it without a gap). */
  seq: number | undefined;
}

export class Presence {
  /** room -> userId -> { user, connections on this replica } */
  private readonly local = new Map<number, Map<number, { user: UserRef; count: number }>>();
  private readonly remote = new Map<string, RemoteView>();
  /** room -> userId -> { user, sources (this replica and each peer listing the user) } */
  private readonly merged = new Map<number, Map<number, { user: UserRef; sources: number }>>();

  constructor(
    private readonly ttlMs: number,
    /** A user appeared in or vanished from a room's merged view. */
    private readonly onFlip: (room: number, userId: number) => void = () => undefined,
  ) {}

  /** Returns true if the room's local user set changed. */
  add(room: number, user: UserRef): boolean {
    let users = this.local.get(room);
    if (!users) this.local.set(room, (users = new Map<number, { user: UserRef; count: number }>()));
    const entry = users.get(user.id);
    if (entry) {
      entry.count++;
      return false;
    }
    users.set(user.id, { user, count: 1 });
    this.up(room, user);
    return true;
  }

  remove(room: number, userId: number): boolean {
    const users = this.local.get(room);
    const entry = users?.get(userId);
    if (!users || !entry) return false;
    if (--entry.count > 0) return false;
    users.delete(userId);
    if (!users.size) this.local.delete(room);
    this.down(room, userId);
    return true;
  }

  /** This replica's users in a room (for announcements). */
  localRoom(room: number): UserRef[] {
    return [...(this.local.get(room)?.values() ?? [])].map((e) => e.user);
  }

  localSnapshot(rooms?: Iterable<number>): Record<string, UserRef[]> {
    const out: Record<string, UserRef[]> = {};
    for (const room of rooms ?? this.local.keys()) out[room] = this.localRoom(room);
    return out;
  }

  /**
   * Apply another replica's list announcement: `full` replaces its whole view, otherwise the listed rooms
   * (older replicas announce changed rooms that way). Returns the rooms whose view may have changed.
   */
  applyRemote(replica: string, rooms: Record<string, UserRef[]>, full: boolean, now = Date.now(), seq?: number): number[] {
    let view = this.remote.get(replica);
    const changed = new Set<number>();
    if (!view) this.remote.set(replica, (view = { rooms: new Map(), expiresAt: 0, seq: undefined }));
    view.expiresAt = now + this.ttlMs;
    view.seq = seq;
    if (full) {
      for (const room of [...view.rooms.keys()]) {
        if (rooms[room]) continue;
        changed.add(room);
        this.replaceRoom(view, room, []);
      }
    }
    for (const [key, users] of Object.entries(rooms)) {
      const room = Number(key);
      changed.add(room);
      this.replaceRoom(view, room, users);
    }
    return [...changed];
  }

  /**
   * Apply a peer's diff announcement. Returns false when it does not follow the last announcement
   * applied from that replica (one was lost, or none was seen yet): the caller asks for full ones.
   */
  applyRemoteDiff(replica: string, seq: number, rooms: Record<string, RoomDiff>, now = Date.now()): boolean {
    let view = this.remote.get(replica);
    if (!view) this.remote.set(replica, (view = { rooms: new Map(), expiresAt: 0, seq: undefined }));
    const inOrder = view.seq !== undefined && seq === view.seq + 1;
    view.seq = seq;
    view.expiresAt = now + this.ttlMs;
    for (const [key, diff] of Object.entries(rooms)) {
      const room = Number(key);
      let users = view.rooms.get(room);
      if (!users) view.rooms.set(room, (users = new Map<number, UserRef>()));
      for (const id of diff.left) if (users.delete(id)) this.down(room, id);
      for (const user of diff.joined) {
        if (users.has(user.id)) continue;
        users.set(user.id, user);
        this.up(room, user);
      }
      if (!users.size) view.rooms.delete(room);
    }
    return inOrder;
  }

  /** Forget a replica (it said goodbye, or expired); returns the affected rooms. */
  dropReplica(replica: string): number[] {
    const view = this.remote.get(replica);
    if (!view) return [];
    this.remote.delete(replica);
    const rooms = [...view.rooms.keys()];
    for (const [room, users] of view.rooms) for (const id of users.keys()) this.down(room, id);
    return rooms;
  }

  /** Drop expired replicas; returns the rooms whose view changed. */
  expire(now = Date.now()): number[] {
    const changed: number[] = [];
    for (const [replica, view] of [...this.remote]) if (view.expiresAt <= now) changed.push(...this.dropReplica(replica));
    return changed;
  }

  /** Whether the user is online in the room (on any replica). */
  has(room: number, userId: number): UserRef | undefined {
    return this.merged.get(room)?.get(userId)?.user;
  }

  /** How many people are online in the room (all replicas). */
  count(room: number): number {
    return this.merged.get(room)?.size ?? 0;
  }

  /** Everyone online in a room across all replicas (unsorted). */
  users(room: number): UserRef[] {
    return [...(this.merged.get(room)?.values() ?? [])].map((e) => e.user);
  }

  /** Everyone online in a room across all replicas, sorted by handle. */
  room(room: number): UserRef[] {
    return this.users(room).sort(byHandle);
  }

  /** The room's presence frame: the first `max` users by handle and the total `count`. */
  frame(room: number, max = PRESENCE_LIST_MAX): Extract<ServerFrame, { type: 'presence' }> {
    const users = this.room(room);
    return { type: 'presence', room, users: users.length > max ? users.slice(0, max) : users, count: users.length };
  }

  onlineUserCount(): number {
    const ids = new Set<number>();
    for (const users of this.merged.values()) for (const id of users.keys()) ids.add(id);
    return ids.size;
  }

  /** Make `view`'s list of `room` exactly `users`, updating the merged view user by user. */
  private replaceRoom(view: RemoteView, room: number, users: UserRef[]): void {
    const before = view.rooms.get(room) ?? new Map<number, UserRef>();
    const after = new Map<number, UserRef>();
    for (const user of users) after.set(user.id, user);
    for (const id of before.keys()) if (!after.has(id)) this.down(room, id);
    for (const [id, user] of after) if (!before.has(id)) this.up(room, user);
    if (after.size) view.rooms.set(room, after);
    else view.rooms.delete(room);
  }

  private up(room: number, user: UserRef): void {
    let users = this.merged.get(room);
    if (!users) this.merged.set(room, (users = new Map<number, { user: UserRef; sources: number }>()));
    const entry = users.get(user.id);
    if (entry) {
      entry.sources++;
      return;
    }
    users.set(user.id, { user, sources: 1 });
    this.onFlip(room, user.id);
  }

  private down(room: number, userId: number): void {
    const users = this.merged.get(room);
    const entry = users?.get(userId);
    if (!users || !entry) return;
    if (--entry.sources > 0) return;
    users.delete(userId);
    if (!users.size) this.merged.delete(room);
    this.onFlip(room, userId);
  }
}
