// The presence pusher: coalesced diffs per room per period (net changes, one serialized frame for all
// sockets), joiners' snapshots consistent with the diffs that follow, counts only for big rooms.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerFrame, UserRef } from '@parley/protocol';
import { Presence } from './presence.ts';
import { type PresencePush, PresencePusher, countPeriodMs } from './presence-pusher.ts';

const user = (id: number): UserRef => ({ id, handle: `u${String(id).padStart(4, '0')}`, displayName: `U${id}` });
const parse = (b: Buffer) => JSON.parse(b.toString('utf8')) as ServerFrame;

/** What a diff-applying client holds, fed the frames a socket gets (as the browser store does). */
class DiffClient {
  users = new Map<number, UserRef>();
  count = 0;
  listed = true;
  apply(frame: ServerFrame): void {
    if (frame.type === 'presence') {
      this.users = new Map(frame.users.map((u) => [u.id, u]));
      this.count = frame.count ?? frame.users.length;
      this.listed = this.count <= frame.users.length;
    } else if (frame.type === 'presence_diff') {
      this.count = frame.count;
      if (!frame.joined || !frame.left) {
        this.listed = false;
        return;
      }
      for (const id of frame.left) this.users.delete(id);
      for (const u of frame.joined) this.users.set(u.id, u);
    }
  }
}

describe('PresencePusher', () => {
  afterEach(() => void vi.useRealTimers());

  function setup(max = 100) {
    vi.useFakeTimers();
    const rooms = new Set([5, 6]);
    const pushes: Array<{ room: number; push: PresencePush }> = [];
    // The pusher is created after Presence, so flips go through a late-bound reference.
    const late: { pusher?: PresencePusher } = {};
    const p = new Presence(60_000, (room, id) => late.pusher?.changed(room, id));
    const pusher = (late.pusher = new PresencePusher(p, (room, push) => {
      if (!rooms.has(room)) return false;
      pushes.push({ room, push });
      return true;
    }, 300, max));
    return { p, pusher, pushes, rooms };
  }

  it('coalesces a burst into one diff per room per period, with the net changes only', () => {
    const { p, pusher, pushes } = setup();
    p.add(5, user(1));
    pusher.snapshot(5, true); // room 5 has a socket here
    pusher.snapshot(6, true);
    for (let id = 2; id <= 50; id++) p.add(5, user(id));
    p.add(5, user(99));
    p.remove(5, 99); // came and went within the period: not mentioned
    p.add(6, user(1));
    vi.advanceTimersByTime(299);
    expect(pushes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(pushes.map((x) => x.room)).toEqual([5, 6]);
    const diff = parse(pushes[0]!.push.diff);
    expect(diff).toMatchObject({ type: 'presence_diff', room: 5, left: [], count: 50 });
    expect((diff as { joined: UserRef[] }).joined.map((u) => u.id)).toEqual(Array.from({ length: 49 }, (_, i) => i + 2));
    // Leaving and coming back within a period is no change at all; nothing is pushed.
    p.remove(5, 1);
    p.add(5, user(1));
    vi.advanceTimersByTime(5_000);
    expect(pushes).toHaveLength(2);
  });

  it('sends a diff whose size depends on the change, not on the room size', () => {
    const { p, pusher, pushes } = setup(2_000);
    for (let id = 1; id <= 1_000; id++) p.add(5, user(id));
    pusher.snapshot(5, true);
    p.add(5, user(1_001));
    p.remove(5, 7);
    vi.advanceTimersByTime(300);
    expect(pushes).toHaveLength(1);
    expect(parse(pushes[0]!.push.diff)).toEqual({ type: 'presence_diff', room: 5, joined: [user(1_001)], left: [7], count: 1_000 });
    expect(pushes[0]!.push.diff.length).toBeLessThan(200);
  });

  it('keeps joiners that apply snapshot + diffs equal to the real state, across the big-room threshold', () => {
    const { p, pusher, pushes } = setup(5);
    // Deterministic pseudo-random walk of joins/leaves and joiners over many periods.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 48_271) % 2_147_483_647) % n);
    const clients: Array<{ c: DiffClient; from: number }> = [];
    const legacy: Array<{ frames: ServerFrame[]; from: number }> = [];
    p.add(5, user(100));
    for (let period = 0; period < 60; period++) {
      for (let k = 1 + rand(6); k > 0; k--) {
        const id = 1 + rand(12);
        // Phases that mostly add, then mostly remove, so the room crosses the threshold both ways.
        // (One connection per user: Presence counts a user's connections.)
        if (rand(10) < (Math.floor(period / 10) % 2 ? 1 : 9)) {
          if (!p.has(5, id)) p.add(5, user(id));
        } else if (p.has(5, id)) p.remove(5, id);
      }
      // A joiner gets the snapshot now, and every push from now on.
      const c = new DiffClient();
      c.apply(parse(pusher.snapshot(5, true)));
      clients.push({ c, from: pushes.length });
      legacy.push({ frames: [parse(pusher.snapshot(5, false))], from: pushes.length });
      vi.advanceTimersByTime(300);
    }
    const real = p.room(5);
    for (const { c, from } of clients) {
      for (const { push } of pushes.slice(from)) c.apply(parse(push.diff));
      expect(c.count).toBe(real.length);
      if (real.length <= 5) {
        expect(c.listed).toBe(true);
        expect([...c.users.keys()].sort((a, b) => a - b)).toEqual(real.map((u) => u.id).sort((a, b) => a - b));
      } else {
        expect(c.listed).toBe(false);
      }
    }
    // The walk crossed the threshold both ways (or the test proves nothing).
    const frames = pushes.map((x) => parse(x.push.diff));
    expect(frames.some((f) => f.type === 'presence_diff' && !f.joined)).toBe(true);
    expect(frames.some((f) => f.type === 'presence')).toBe(true);
    // Older clients get the full (capped) list with every push.
    const lastFull = parse(pushes.at(-1)!.push.full());
    expect(lastFull).toEqual({ type: 'presence', room: 5, users: real.slice(0, 5), count: real.length });
    expect(legacy.at(-1)!.frames[0]!.type).toBe('presence');
  });

  it('sends only counts to diff sockets of a big room, builds the full list only when asked, and pages it by handle', () => {
    const { p, pusher, pushes } = setup(3);
    for (let id = 10; id >= 1; id--) p.add(5, user(id));
    expect(parse(pusher.snapshot(5, true))).toEqual({ type: 'presence_diff', room: 5, count: 10 });
    expect(parse(pusher.snapshot(5, false))).toMatchObject({ type: 'presence', users: [user(1), user(2), user(3)], count: 10 });
    p.add(5, user(11));
    vi.advanceTimersByTime(300);
    expect(parse(pushes[0]!.push.diff)).toEqual({ type: 'presence_diff', room: 5, count: 11 });
    expect(pushes[0]!.push.full()).toBe(pushes[0]!.push.full()); // built once, the same bytes for every socket
    const first = pusher.page(5, undefined, 4);
    expect(first).toEqual({ users: [1, 2, 3, 4].map(user), count: 11, hasMore: true });
    expect(pusher.page(5, user(4).handle, 4).users.map((u) => u.id)).toEqual([5, 6, 7, 8]);
    expect(pusher.page(5, user(8).handle, 4)).toEqual({ users: [9, 10, 11].map(user), count: 11, hasMore: false });
  });

  it('sends a crowded room its count less often while people keep arriving, and the final count at the end', () => {
    const { p, pusher, pushes } = setup(100);
    for (let id = 1; id <= 3_000; id++) p.add(5, user(id));
    pusher.snapshot(5, true);
    const period = countPeriodMs(3_000);
    expect(period).toBe(900);
    const sentAt: number[] = [];
    for (let id = 3_001; id <= 3_030; id++) {
      p.add(5, user(id));
      vi.advanceTimersByTime(100);
      while (sentAt.length < pushes.length) sentAt.push(Date.now());
    }
    vi.advanceTimersByTime(period);
    while (sentAt.length < pushes.length) sentAt.push(Date.now());
    // One arrival every 100 ms for 3 s: about one count push per 900 ms, not one per 300 ms.
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    expect(pushes.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(period);
    expect(parse(pushes.at(-1)!.push.diff)).toEqual({ type: 'presence_diff', room: 5, count: 3_030 });
  });

  it('keeps nothing for rooms without local sockets', () => {
    const { p, pusher, pushes, rooms } = setup();
    p.add(5, user(1));
    pusher.snapshot(5, true);
    rooms.delete(5);
    p.add(5, user(2));
    vi.advanceTimersByTime(300);
    expect(pushes).toEqual([]);
    // Forgotten: changes are not tracked, a later joiner starts from the current state.
    p.add(5, user(3));
    vi.advanceTimersByTime(300);
    expect(pushes).toEqual([]);
    rooms.add(5);
    expect(parse(pusher.snapshot(5, true))).toMatchObject({ type: 'presence', count: 3 });
    pusher.stop();
  });
});
