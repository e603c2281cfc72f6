// The hub asks the bus for a room's events while a local socket is in it (once per room, not per
// socket), and a confirmed subscription repairs only the rooms it names from Postgres; a reconnect of
// the replica-wide channels also re-announces this replica.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RoomAccess } from '../messages/message-repository.ts';
import type { Hub } from './hub.ts';
import { scriptedHub } from './hub-test-kit.ts';

const roomAccess = async (roomId: number): Promise<RoomAccess> => ({ room: { id: roomId, name: `r${roomId}`, kind: 'public', archived: false }, lastSeq: 0, isMember: true, mutedUntil: null });

const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

function setup() {
  const reconciled: number[][] = [];
  const t = scriptedHub({
    roomAccess,
    after: async () => [],
    lastSeqs: async (ids: number[]) => {
      reconciled.push([...ids].sort((a, b) => a - b));
      return new Map(ids.map((id) => [id, 0]));
    },
  });
  hubs.push(t.hub);
  return { ...t, reconciled };
}

describe('Hub: room channels', () => {
  it('watches a room from its first local socket to its last', async () => {
    const t = setup();
    const a = t.connect(1);
    const b = t.connect(2);
    a.receive({ type: 'join', room: 7 });
    b.receive({ type: 'join', room: 7 });
    b.receive({ type: 'join', room: 8 });
    await vi.waitFor(() => expect(b.frames.filter((f) => f.type === 'caught_up')).toHaveLength(2));
    await vi.waitFor(() => expect(a.frames.some((f) => f.type === 'caught_up')).toBe(true));
    expect(t.watchCalls).toEqual(['+7', '+8']);
    a.receive({ type: 'leave', room: 7 });
    await vi.waitFor(() => expect(a.frames.some((f) => f.type === 'left')).toBe(true));
    expect(t.watched).toEqual(new Set([7, 8]));
    b.close(1000, 'bye');
    await vi.waitFor(() => expect(t.watched).toEqual(new Set()));
    expect(t.watchCalls).toEqual(['+7', '+8', '-7', '-8']);
  });

  it('repairs only the rooms a confirmed subscription names; a reconnect also re-announces', async () => {
    const t = setup();
    const a = t.connect(1);
    for (const room of [7, 8, 9]) a.receive({ type: 'join', room });
    await vi.waitFor(() => expect(a.frames.filter((f) => f.type === 'caught_up')).toHaveLength(3));
    t.reconciled.length = 0;
    const syncs = () => t.published.filter((e) => e.k === 'sync').length;
    const before = syncs();
    t.resubscribe({ rooms: [8, 42], replicaWide: false }); // 42: closed here meanwhile
    await vi.waitFor(() => expect(t.reconciled).toEqual([[8]]));
    expect(syncs()).toBe(before);
    t.resubscribe({ rooms: [], replicaWide: true });
    await vi.waitFor(() => expect(syncs()).toBe(before + 1));
    expect(t.reconciled).toEqual([[8]]);
    t.resubscribe({ rooms: 'all', replicaWide: true });
    await vi.waitFor(() => expect(t.reconciled).toEqual([[8], [7, 8, 9]]));
  });
});
