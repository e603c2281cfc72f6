import { afterEach, describe, expect, it, vi } from 'vitest';
import { Presence, PRESENCE_LIST_MAX, PresencePusher } from './presence.ts';

const ann = { id: 1, handle: 'ann', displayName: 'Ann' };
const bob = { id: 2, handle: 'bob', displayName: 'Bob' };

describe('Presence', () => {
  it('counts a user once across several local connections', () => {
    const p = new Presence(1000);
    expect(p.add(5, ann)).toBe(true);
    expect(p.add(5, ann)).toBe(false);
    expect(p.remove(5, 1)).toBe(false);
    expect(p.room(5)).toEqual([ann]);
    expect(p.remove(5, 1)).toBe(true);
    expect(p.room(5)).toEqual([]);
  });

  it('merges remote replicas and forgets them when their view expires', () => {
    const p = new Presence(1000);
    p.add(5, ann);
    p.applyRemote('r2', { 5: [bob] }, true, 0);
    expect(p.room(5)).toEqual([ann, bob]);
    expect(p.onlineUserCount()).toBe(2);
    expect(p.expire(999)).toEqual([]);
    expect(p.expire(1000)).toEqual([5]);
    expect(p.room(5)).toEqual([ann]);
  });

  it('a full snapshot replaces the previous view of that replica', () => {
    const p = new Presence(1000);
    p.applyRemote('r2', { 5: [bob], 6: [bob] }, true, 0);
    p.applyRemote('r2', { 6: [bob] }, true, 10);
    expect(p.room(5)).toEqual([]);
    expect(p.room(6)).toEqual([bob]);
  });

  it('caps the listed users (first by handle) and gives the total count', () => {
    const p = new Presence(1000);
    for (let i = PRESENCE_LIST_MAX + 49; i >= 0; i--) p.add(5, { id: i, handle: `u${String(i).padStart(4, '0')}`, displayName: `U${i}` });
    const f = p.frame(5);
    expect(f.count).toBe(PRESENCE_LIST_MAX + 50);
    expect(f.users).toHaveLength(PRESENCE_LIST_MAX);
    expect(f.users[0]!.handle).toBe('u0000');
    expect(f.users.at(-1)!.handle).toBe(`u${String(PRESENCE_LIST_MAX - 1).padStart(4, '0')}`);
    expect(p.frame(6)).toEqual({ type: 'presence', room: 6, users: [], count: 0 });
  });
});

describe('PresencePusher', () => {
  afterEach(() => void vi.useRealTimers());

  function setup(rooms = new Set([5])) {
    vi.useFakeTimers();
    const p = new Presence(60_000);
    const pushed: Array<{ room: number; users: number[]; count: number }> = [];
    const pusher = new PresencePusher(p, (room, frame) => {
      if (!rooms.has(room)) return false;
      const f = JSON.parse(frame.toString('utf8')) as { users: Array<{ id: number }>; count: number };
      pushed.push({ room, users: f.users.map((u) => u.id), count: f.count });
      return true;
    }, 300, 3);
    return { p, pusher, pushed };
  }
  const user = (id: number) => ({ id, handle: `u${id}`, displayName: `U${id}` });

  it('coalesces a burst of changes into one capped frame per room per period', () => {
    const { p, pusher, pushed } = setup(new Set([5, 6]));
    for (let id = 1; id <= 50; id++) {
      p.add(5, user(id));
      pusher.changed(5);
    }
    p.add(6, user(1));
    pusher.changed(6);
    vi.advanceTimersByTime(299);
    expect(pushed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(pushed).toEqual([{ room: 5, users: [1, 10, 11], count: 50 }, { room: 6, users: [1], count: 1 }]);
    // Changes after a push wait for the next period; nothing is sent when nothing changed.
    p.remove(5, 1);
    pusher.changed(5);
    vi.advanceTimersByTime(100);
    expect(pushed).toHaveLength(2);
    vi.advanceTimersByTime(200);
    expect(pushed.at(-1)).toEqual({ room: 5, users: [10, 11, 12], count: 49 });
    vi.advanceTimersByTime(5_000);
    expect(pushed).toHaveLength(3);
  });

  it('answers a joiner at once with the last pushed frame, built only when there is none', () => {
    const { p, pusher, pushed } = setup();
    p.add(5, user(1));
    const first = pusher.current(5);
    expect(JSON.parse(first.toString())).toMatchObject({ users: [{ id: 1 }], count: 1 });
    expect(pusher.current(5)).toBe(first); // not rebuilt per joiner
    p.add(5, user(2));
    pusher.changed(5);
    expect(pusher.current(5)).toBe(first); // the pending push brings the joiner up to date
    vi.advanceTimersByTime(300);
    expect(pushed).toEqual([{ room: 5, users: [1, 2], count: 2 }]);
    expect(JSON.parse(pusher.current(5).toString())).toMatchObject({ count: 2 });
  });

  it('keeps nothing for rooms without local sockets', () => {
    const rooms = new Set([5]);
    const { p, pusher, pushed } = setup(rooms);
    p.add(5, user(1));
    const before = pusher.current(5);
    rooms.delete(5);
    pusher.changed(5);
    vi.advanceTimersByTime(300);
    expect(pushed).toEqual([]);
    rooms.add(5);
    p.add(5, user(2));
    expect(pusher.current(5)).not.toBe(before);
    expect(JSON.parse(pusher.current(5).toString())).toMatchObject({ count: 2 });
    pusher.stop();
  });
});
