// Pushes presence to a room's local sockets without a storm. Each room with sockets here has a
// "published" state: what its sockets have been told. Flips of users (Presence.onFlip) mark them dirty;
// once per period the dirty users of each room are compared with the published state, and the net
// changes go out as one diff frame per room, serialized once and sent as the same bytes to every socket:
// the work per push is O(changes), not O(members). Rooms above PRESENCE_LIST_MAX online send diff
// sockets only the count (the list is paged on demand, `page`). Sockets of older clients (no
// `presence: 'diff'` on join) still get the full `presence` frame, built only when such a socket is there.
import type { UserRef } from '@parley/protocol';
import { PRESENCE_LIST_MAX, PRESENCE_PUSH_MS, type Presence, byHandle } from './presence.ts';
import { encodeFrame } from './room-state.ts';

/** The frames of one room's push; the caller picks one per socket. */
export interface PresencePush {
  /** For sockets that apply diffs (`presence_diff`, or a full `presence` when a big room became small). */
  diff: Buffer;
  /** For sockets that understand only full `presence` frames (built on first use). */
  full: () => Buffer;
}

interface Feed {
  /** What the room's sockets have been told (diffs apply to it; joiners get it). */
  published: Map<number, UserRef>;
  /** Users whose presence flipped since the last push. */
  dirty: Set<number>;
  /** Caches of the published state, dropped on every change. */
  sorted: UserRef[] | null;
  full: Buffer | null;
  countOnly: Buffer | null;
  /** Big rooms: the next count-only push is not sent before this time (ms)... */
  countDueAt: number;
  /** ...and a count change is waiting for it. */
  countUnsent: boolean;
}

/**
 * How often a big room's sockets hear its count: every push period up to 1,000 online, then one period
 * more per thousand (10,000 online: every 3 s), at most every 10 periods. A count push goes to every
 * socket of the room, so this keeps a crowd's arrival from costing O(members) sends every period.
 */
export function countPeriodMs(count: number, periodMs = PRESENCE_PUSH_MS): number {
  return periodMs * Math.min(10, Math.max(1, Math.floor(count / 1_000)));
}

export interface PresencePage {
  users: UserRef[];
  count: number;
  hasMore: boolean;
}

export class PresencePusher {
  private readonly feeds = new Map<number, Feed>();
  private readonly dirtyRooms = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly presence: Presence,
    /** Send a push to the room's local sockets; false when this replica has none (the room is forgotten). */
    private readonly push: (room: number, frames: PresencePush) => boolean,
    private readonly periodMs = PRESENCE_PUSH_MS,
    private readonly max = PRESENCE_LIST_MAX,
  ) {}

  /** A user's presence in the room flipped: the room's sockets hear about it with the next push. */
  changed(room: number, userId: number): void {
    const feed = this.feeds.get(room);
    if (!feed) return; // no sockets here: nothing published; a joiner starts from a fresh snapshot
    feed.dirty.add(userId);
    this.dirtyRooms.add(room);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.periodMs);
    this.timer.unref?.();
  }

  /**
   * A joiner's first presence frame: the published state (later diffs apply to it). Diff sockets of a
   * big room get the count only; other sockets a full `presence` frame (capped at `max` users).
   */
  snapshot(room: number, diff: boolean): Buffer {
    const feed = this.feed(room);
    if (diff && feed.published.size > this.max) return (feed.countOnly ??= encodeFrame({ type: 'presence_diff', room, count: feed.published.size }));
    return this.fullFrame(room, feed);
  }

  /** A page of the published list by handle, after the handle `after`. */
  page(room: number, after: string | undefined, limit: number): PresencePage {
    const feed = this.feed(room);
    const sorted = this.sorted(feed);
    let start = 0;
    if (after !== undefined) {
      // First user whose handle sorts after `after` (binary search).
      let hi = sorted.length;
      while (start < hi) {
        const mid = (start + hi) >>> 1;
        if (byHandle(sorted[mid]!, { id: 0, handle: after, displayName: '' }) <= 0) start = mid + 1;
        else hi = mid;
      }
    }
    const users = sorted.slice(start, start + limit);
    return { users, count: sorted.length, hasMore: start + users.length < sorted.length };
  }

  /** Push every dirty room now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rooms = [...this.dirtyRooms];
    this.dirtyRooms.clear();
    for (const room of rooms) {
      const feed = this.feeds.get(room);
      if (!feed) continue;
      const joined: UserRef[] = [];
      const left: number[] = [];
      const before = feed.published.size;
      for (const id of feed.dirty) {
        const now = this.presence.has(room, id);
        const was = feed.published.has(id);
        if (now && !was) {
          joined.push(now);
          feed.published.set(id, now);
        } else if (!now && was) {
          left.push(id);
          feed.published.delete(id);
        }
      }
      feed.dirty.clear();
      const changed = joined.length > 0 || left.length > 0;
      if (changed) feed.sorted = feed.full = feed.countOnly = null;
      else if (!feed.countUnsent) continue;
      const count = feed.published.size;
      let diff: Buffer;
      if (count > this.max) {
        const now = Date.now();
        if (before > this.max && now < feed.countDueAt) {
          // Still big and its count went out lately: send the count with a later push.
          feed.countUnsent = true;
          this.dirtyRooms.add(room);
          this.schedule();
          continue;
        }
        feed.countUnsent = false;
        feed.countDueAt = now + countPeriodMs(count, this.periodMs);
        diff = encodeFrame({ type: 'presence_diff', room, count });
      } else if (before > this.max) {
        diff = this.fullFrame(room, feed); // the list is maintained again: start from the whole of it
      } else {
        diff = encodeFrame({ type: 'presence_diff', room, joined, left, count });
      }
      feed.countUnsent = false;
      if (!this.push(room, { diff, full: () => this.fullFrame(room, feed) })) this.feeds.delete(room);
    }
  }

  /** The room has no local sockets any more: forget what it was told. */
  forget(room: number): void {
    this.feeds.delete(room);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private feed(room: number): Feed {
    let feed = this.feeds.get(room);
    if (!feed) {
      const published = new Map<number, UserRef>();
      for (const user of this.presence.users(room)) published.set(user.id, user);
      this.feeds.set(room, (feed = { published, dirty: new Set(), sorted: null, full: null, countOnly: null, countDueAt: 0, countUnsent: false }));
    }
    return feed;
  }

  private sorted(feed: Feed): UserRef[] {
    return (feed.sorted ??= [...feed.published.values()].sort(byHandle));
  }

  private fullFrame(room: number, feed: Feed): Buffer {
    if (!feed.full) {
      const sorted = this.sorted(feed);
      feed.full = encodeFrame({ type: 'presence', room, users: sorted.length > this.max ? sorted.slice(0, this.max) : sorted, count: sorted.length });
    }
    return feed.full;
  }
}
