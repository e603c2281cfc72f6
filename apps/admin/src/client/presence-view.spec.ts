import { describe, expect, it } from 'vitest';
import { PresenceView } from './presence-view.ts';

const u = (id: number, handle: string) => ({ id, handle, displayName: handle.toUpperCase() });

describe('PresenceView', () => {
  it('applies a snapshot, then diffs; a count-only diff drops the list until the next full frame', () => {
    const v = new PresenceView();
    v.apply({ type: 'presence', room: 1, users: [u(2, 'bob'), u(1, 'ann')], count: 2 });
    expect(v.list().map((x) => x.handle)).toEqual(['ann', 'bob']);
    v.apply({ type: 'presence_diff', room: 1, joined: [u(3, 'cy')], left: [2], count: 2 });
    expect(v.list().map((x) => x.id)).toEqual([1, 3]);
    expect(v).toMatchObject({ count: 2, listed: true });
    v.apply({ type: 'presence_diff', room: 1, count: 500 });
    expect(v).toMatchObject({ count: 500, listed: false });
    expect(v.list()).toEqual([]);
    v.apply({ type: 'presence', room: 1, users: [u(1, 'ann')], count: 1 });
    expect(v).toMatchObject({ count: 1, listed: true });
    // An older server's capped full frame: a partial list.
    v.apply({ type: 'presence', room: 1, users: [u(1, 'ann')], count: 300 });
    expect(v).toMatchObject({ count: 300, listed: false });
  });
});
