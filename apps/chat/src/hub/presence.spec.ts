import { describe, expect, it } from 'vitest';
import { Presence, PRESENCE_LIST_MAX } from './presence.ts';

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

  it('applies peers\' diffs in order, counts a user on two replicas once, and reports a lost diff', () => {
    const flips: string[] = [];
    const p = new Presence(1000, (room, id) => flips.push(`${room}:${id}`));
    p.applyRemote('r2', { 5: [ann] }, true, 0, 1);
    expect(p.applyRemoteDiff('r2', 2, { 5: { joined: [bob], left: [] } }, 0)).toBe(true);
    p.add(5, bob); // bob also here: no flip
    expect(flips).toEqual(['5:1', '5:2']);
    expect(p.applyRemoteDiff('r2', 3, { 5: { joined: [], left: [2] } }, 0)).toBe(true);
    expect(p.room(5)).toEqual([ann, bob]); // still here
    expect(p.applyRemoteDiff('r2', 5, { 5: { joined: [], left: [1] } }, 0)).toBe(false); // 4 was lost
    expect(p.room(5)).toEqual([bob]); // applied anyway
    expect(p.applyRemoteDiff('r3', 1, { 5: { joined: [ann], left: [] } }, 0)).toBe(false); // never heard r3 in full
    expect(p.count(5)).toBe(2);
    p.remove(5, 2);
    p.dropReplica('r3');
    expect(p.count(5)).toBe(0);
    expect(flips.slice(2)).toEqual(['5:1', '5:1', '5:2', '5:1']);
  });

  it('a full announcement after diffs replaces that replica\'s view user by user', () => {
    const flips: string[] = [];
    const p = new Presence(1000, (room, id) => flips.push(`${room}:${id}`));
    p.applyRemote('r2', { 5: [ann, bob] }, true, 0, 1);
    p.applyRemoteDiff('r2', 2, { 6: { joined: [ann], left: [] } }, 0);
    flips.length = 0;
    p.applyRemote('r2', { 5: [bob] }, true, 0, 3);
    expect(p.room(5)).toEqual([bob]);
    expect(p.room(6)).toEqual([]);
    expect(flips.sort()).toEqual(['5:1', '6:1']);
  });
});
