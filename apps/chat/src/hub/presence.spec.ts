import { describe, expect, it } from 'vitest';
import { Presence } from './presence.ts';

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
});
