// ChatStore's presence against a scripted fake socket: a small room's list follows the snapshot and
// diffs; a big room keeps only the count live and loads its list in pages when asked (details pane).
import { describe, expect, it } from 'vitest';
import type { UserRef } from '@parley/protocol';
import type { Conversation } from './store.ts';
import { me, other, storeOnFakeSocket } from './socket-test-kit.ts';

const conv: Conversation = {
  id: 1, kind: 'public', name: 'Hall', topic: '', archived: false, lastSeq: 0, lastReadSeq: 0, unread: 0, mentionSeqs: [],
  lastActivityAt: null, notificationsMuted: false, peer: null, peers: [], hiddenThroughSeq: null,
};
const u = (id: number): UserRef => ({ id, handle: `p${String(id).padStart(3, '0')}`, displayName: `P${id}` });

describe('ChatStore: presence', () => {
  it('follows a small room\'s diffs, and loads a big room\'s list in pages on demand', async () => {
    const { store, ws } = await storeOnFakeSocket(conv);
    expect(ws.sent.find((f) => f.type === 'join')).toMatchObject({ room: 1, presence: 'diff' });
    ws.push({ type: 'joined', room: { id: 1, name: 'Hall', kind: 'public', archived: false }, lastSeq: 0, resumedFrom: 0 });
    ws.push({ type: 'caught_up', room: 1, seq: 0 });
    const room = store.rooms.get(1)!;

    ws.push({ type: 'presence', room: 1, users: [me, other], count: 2 });
    ws.push({ type: 'presence_diff', room: 1, joined: [u(3)], left: [other.id], count: 2 });
    expect(room.presence.map((x) => x.id).sort()).toEqual([me.id, 3].sort());
    expect(room).toMatchObject({ presenceCount: 2, presenceListed: true });
    store.loadPresence(1);
    expect(ws.sent.filter((f) => f.type === 'presence_list')).toEqual([]); // a small room needs no fetch

    ws.push({ type: 'presence_diff', room: 1, count: 250 });
    expect(room).toMatchObject({ presenceCount: 250, presenceListed: false });
    store.loadPresence(1);
    expect(ws.sent.at(-1)).toEqual({ type: 'presence_list', room: 1, limit: 100 });
    const page1 = Array.from({ length: 100 }, (_, i) => u(i + 1));
    ws.push({ type: 'presence_list', room: 1, users: page1, count: 250, hasMore: true });
    expect(room.presence).toHaveLength(100);
    ws.push({ type: 'presence_diff', room: 1, count: 251 }); // counts keep coming; the page stays
    expect(room).toMatchObject({ presenceCount: 251, presenceHasMore: true });
    expect(room.presence).toHaveLength(100);
    store.loadPresence(1, true);
    expect(ws.sent.at(-1)).toEqual({ type: 'presence_list', room: 1, limit: 100, after: 'p100' });
    ws.push({ type: 'presence_list', room: 1, users: [u(101)], count: 251, after: 'p100', hasMore: false });
    expect(room.presence).toHaveLength(101);
    expect(room.presenceHasMore).toBe(false);
  });
});
