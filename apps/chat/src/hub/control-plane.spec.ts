// The control-plane consumer against a scripted store: starts at the latest id, applies every later
// event exactly once in id order across pages, and keeps its cursor through a failing read.
import { describe, expect, it } from 'vitest';
import type { ControlEvent } from '@parley/db';
import { createLogger } from '@parley/logging';
import type { ControlApplier } from './control-applier.ts';
import { ControlPlane } from './control-plane.ts';
import type { ControlStore } from './control-store.ts';

const event = (id: number): ControlEvent => ({ id, kind: 'read', userId: 1, sessionId: null, roomId: 1, seq: id, payload: {}, createdAt: new Date() });

function setup(existing: number) {
  const events = Array.from({ length: existing }, (_, i) => event(i + 1));
  let failing = false;
  const store: ControlStore = {
    eventsAfter: async (cursor, limit) => {
      if (failing) throw new Error('connection refused');
      return events.filter((e) => e.id > cursor).slice(0, limit);
    },
    lastId: async () => events.at(-1)?.id ?? 0,
    membersOf: async () => new Map(),
  };
  const applied: number[] = [];
  const applier = { apply: async (page: ControlEvent[]) => void applied.push(...page.map((e) => e.id)) } as unknown as ControlApplier;
  const plane = new ControlPlane(store, applier, 60_000, createLogger('chat', 'silent'));
  return { plane, events, applied, fail: (f: boolean) => void (failing = f) };
}

describe('ControlPlane', () => {
  it('starts after the latest event and applies later ones once, in id order, across pages', async () => {
    const t = setup(3);
    expect(t.plane.ready).toBe(false);
    await t.plane.caughtUp();
    expect(t.plane.ready).toBe(true);
    expect(t.applied).toEqual([]); // events before the start concern no socket of this replica
    for (let id = 4; id <= 1_203; id++) t.events.push(event(id)); // more than two pages
    t.plane.poke();
    t.plane.poke(); // coalesced with the running one
    await t.plane.caughtUp();
    expect(t.applied).toEqual(Array.from({ length: 1_200 }, (_, i) => i + 4));
    expect(t.plane.stats).toMatchObject({ controlCursor: 1_203, controlEventsApplied: 1_200 });
  });

  it('keeps its cursor while reads fail and catches up when they work again', async () => {
    const t = setup(0);
    await t.plane.caughtUp();
    t.fail(true);
    t.events.push(event(1), event(2));
    await t.plane.caughtUp();
    expect(t.applied).toEqual([]);
    t.fail(false);
    await t.plane.caughtUp();
    expect(t.applied).toEqual([1, 2]);
  });

  it('caughtUpSinceNow: resolves after a run that began after the call (events committed before it applied), false while reads fail', async () => {
    const t = setup(0);
    await t.plane.caughtUp();
    t.events.push(event(1));
    const first = t.plane.caughtUpSinceNow();
    t.events.push(event(2)); // may or may not be in that run
    const second = t.plane.caughtUpSinceNow(); // shares the runs under way
    expect(await first).toBe(true);
    expect(t.applied).toContain(1);
    expect(await second).toBe(true);
    expect(t.applied).toEqual([1, 2]);
    t.fail(true);
    expect(await t.plane.caughtUpSinceNow()).toBe(false);
    t.fail(false);
    expect(await t.plane.caughtUpSinceNow()).toBe(true);
  });
});
