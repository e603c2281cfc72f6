// Presence between replicas: local changes go out as numbered, chunked diffs (net per user), a peer
// applying them ends with the same people, and a lost diff makes the receiver ask for full lists.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UserRef } from '@parley/protocol';
import type { BusEvent } from '../bus/index.ts';
import { PresenceGlue } from './presence-glue.ts';

const user = (id: number): UserRef => ({ id, handle: `u${id}`, displayName: `U${id}` });

function replica(id: string) {
  const published: BusEvent[] = [];
  const glue = new PresenceGlue(id, 30_000, () => undefined, (e) => published.push(e));
  return { glue, published };
}

function deliver(events: BusEvent[], to: PresenceGlue): void {
  for (const e of events) {
    if (e.k === 'presence') to.applyRemote(e);
    else if (e.k === 'presence_diff') to.applyRemoteDiff(e);
  }
}

describe('PresenceGlue', () => {
  afterEach(() => void vi.useRealTimers());

  it('announces local changes as numbered diffs of bounded size that a peer applies to the same state', () => {
    vi.useFakeTimers();
    const a = replica('a');
    const b = replica('b');
    a.glue.announce(true); // b hears a's full list first (seq 1)
    for (let id = 1; id <= 120; id++) a.glue.joined(5, user(id));
    a.glue.joined(5, user(1)); // a second connection: no change
    a.glue.left(5, 7);
    a.glue.joined(6, user(500));
    a.glue.left(6, 500); // came and went: announced as left (harmless), never as present
    vi.advanceTimersByTime(100);
    const diffs = a.published.filter((e) => e.k === 'presence_diff');
    expect(diffs.length).toBeGreaterThanOrEqual(3); // 121 changes, at most 50 per event
    expect(diffs.map((e) => e.seq)).toEqual(diffs.map((_, i) => i + 2));
    for (const e of diffs) expect(Object.values(e.rooms).reduce((n, r) => n + r.joined.length + r.left.length, 0)).toBeLessThanOrEqual(50);
    deliver(a.published, b.glue);
    expect(b.glue.presence.count(5)).toBe(119);
    expect(b.glue.presence.has(5, 7)).toBeUndefined();
    expect(b.glue.presence.count(6)).toBe(0);
    expect(b.published).toEqual([]); // nothing lost, nothing asked
    a.glue.stop();
  });

  it('asks every replica for full lists when a diff was lost (at most once per period), and a full list repairs the view', () => {
    vi.useFakeTimers();
    const a = replica('a');
    const b = replica('b');
    a.glue.announce(true);
    a.glue.joined(5, user(1));
    vi.advanceTimersByTime(100);
    a.glue.joined(5, user(2));
    vi.advanceTimersByTime(100);
    const [full, first, second] = a.published;
    deliver([full!, second!], b.glue); // `first` lost
    expect(b.published).toEqual([{ k: 'sync', from: 'b' }]);
    expect(b.glue.presence.room(5).map((u) => u.id)).toEqual([2]);
    a.glue.left(5, 2);
    vi.advanceTimersByTime(100);
    deliver(a.published.slice(3), b.glue);
    expect(b.published).toHaveLength(1); // in order again: no second request
    // The sync answer: a's full list.
    a.glue.announce(true);
    deliver(a.published.slice(-1), b.glue);
    expect(b.glue.presence.room(5).map((u) => u.id)).toEqual([1]);
    expect(first!.k).toBe('presence_diff');
    a.glue.stop();
  });
});
