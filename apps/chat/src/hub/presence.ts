// Presence across replicas without shared storage: each replica announces who is connected to which
// room (on change, and in full every ttl/3); others keep that view until it expires. A replica that dies
// stops announcing, so its users vanish within PRESENCE_TTL_MS: no zombies, no cleanup job.
import type { ServerFrame, UserRef } from '@parley/protocol';

/** Most users listed in a presence frame; `count` says how many there are in all. */
export const PRESENCE_LIST_MAX = 100;
/** Presence changes of a room are pushed to its sockets at most once per this period, coalesced. */
export const PRESENCE_PUSH_MS = 300;

// Same order as String#localeCompare, much cheaper per comparison.
const collator = new Intl.Collator();
const byHandle = (a: UserRef, b: UserRef) => collator.compare(a.handle, b.handle);

interface RemoteView {
  rooms: Map<number, UserRef[]>;
  expiresAt: number;
}

export class Presence {
  /** room -> userId -> { user, connections on this replica } */
  private readonly local = new Map<number, Map<number, { user: UserRef; count: number }>>();
  private readonly remote = new Map<string, RemoteView>();

  constructor(private readonly ttlMs: number) {}

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
    return true;
  }

  remove(room: number, userId: number): boolean {
    const users = this.local.get(room);
    const entry = users?.get(userId);
    if (!users || !entry) return false;
    if (--entry.count > 0) return false;
    users.delete(userId);
    if (!users.size) this.local.delete(room);
    return true;
  }

  localRoom(room: number): UserRef[] {
    return [...(this.local.get(room)?.values() ?? [])].map((e) => e.user);
  }

  localSnapshot(rooms?: Iterable<number>): Record<string, UserRef[]> {
    const out: Record<string, UserRef[]> = {};
    for (const room of rooms ?? this.local.keys()) out[room] = this.localRoom(room);
    return out;
  }

  /** Apply another replica's announcement; returns the rooms whose view may have changed. */
  applyRemote(replica: string, rooms: Record<string, UserRef[]>, full: boolean, now = Date.now()): number[] {
    let view = this.remote.get(replica);
    const changed = new Set<number>();
    if (!view || full) {
      for (const room of view?.rooms.keys() ?? []) changed.add(room);
      view = { rooms: new Map(), expiresAt: 0 };
      this.remote.set(replica, view);
    }
    view.expiresAt = now + this.ttlMs;
    for (const [key, users] of Object.entries(rooms)) {
      const room = Number(key);
      changed.add(room);
      if (users.length) view.rooms.set(room, users);
      else view.rooms.delete(room);
    }
    return [...changed];
  }

  /** Forget a replica (it said goodbye, or expired); returns the affected rooms. */
  dropReplica(replica: string): number[] {
    const view = this.remote.get(replica);
    this.remote.delete(replica);
    return view ? [...view.rooms.keys()] : [];
  }

  /** Drop expired replicas; returns the rooms whose view changed. */
  expire(now = Date.now()): number[] {
    const changed: number[] = [];
    for (const [replica, view] of this.remote) if (view.expiresAt <= now) changed.push(...this.dropReplica(replica));
    return changed;
  }

  /** Everyone online in a room across all replicas, sorted by handle. */
  room(room: number): UserRef[] {
    const byId = new Map<number, UserRef>();
    for (const user of this.localRoom(room)) byId.set(user.id, user);
    for (const view of this.remote.values()) for (const user of view.rooms.get(room) ?? []) byId.set(user.id, user);
    return [...byId.values()].sort(byHandle);
  }

  /** The room's presence frame: the first `max` users by handle and the total `count`. */
  frame(room: number, max = PRESENCE_LIST_MAX): Extract<ServerFrame, { type: 'presence' }> {
    const users = this.room(room);
    return { type: 'presence', room, users: users.length > max ? users.slice(0, max) : users, count: users.length };
  }

  onlineUserCount(): number {
    const ids = new Set<number>();
    for (const users of this.local.values()) for (const id of users.keys()) ids.add(id);
    for (const view of this.remote.values()) for (const users of view.rooms.values()) for (const u of users) ids.add(u.id);
    return ids.size;
  }
}

/**
 * Pushes presence to a room's sockets without a storm: changes mark the room dirty and one frame per
 * room goes out per `periodMs` (the state at that moment, capped at `max` users), instead of the whole
 * list to every member on every join. The last frame pushed is kept so a joiner can be answered at once
 * without rebuilding the list (the next push brings it up to date).
 */
export class PresencePusher {
  private readonly dirty = new Set<number>();
  private readonly last = new Map<number, Buffer>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly presence: Presence,
    /** Send the frame to the room's local sockets; false when this replica has none (nothing kept). */
    private readonly push: (room: number, frame: Buffer) => boolean,
    private readonly periodMs = PRESENCE_PUSH_MS,
    private readonly max = PRESENCE_LIST_MAX,
  ) {}

  /** The room's presence changed: its sockets hear about it with the next push. */
  changed(room: number): void {
    this.dirty.add(room);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.periodMs);
      this.timer.unref?.();
    }
  }

  /** A presence frame for a joiner: the last one pushed (it may miss changes of the pending push). */
  current(room: number): Buffer {
    let frame = this.last.get(room);
    if (!frame) this.last.set(room, (frame = this.build(room)));
    return frame;
  }

  /** Push every dirty room now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rooms = [...this.dirty];
    this.dirty.clear();
    for (const room of rooms) {
      const frame = this.build(room);
      if (this.push(room, frame)) this.last.set(room, frame);
      else this.last.delete(room);
    }
  }

  /** The room has no local sockets any more: forget its last frame. */
  forget(room: number): void {
    this.last.delete(room);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private build(room: number): Buffer {
    return Buffer.from(JSON.stringify(this.presence.frame(room, this.max)));
  }
}
