// ChatStore opening a room at an older message (a search result) against a scripted fake socket: the
// window around the seq replaces what was loaded, live messages meanwhile only count, forward pages
// close the gap (also when a message committed during a page read arrived live first), and sending
// goes back to the latest messages.
import { describe, expect, it } from 'vitest';
import type { ChatMessage, ClientFrame } from '@parley/protocol';
import type { ChatStore, Conversation } from './store.ts';
import { other, storeOnFakeSocket, type FakeSocket } from './socket-test-kit.ts';

const msg = (seq: number): ChatMessage => ({
  id: 1000 + seq, roomId: 1, seq, author: other, clientId: `c${seq}`, body: `m${seq}`, createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));
const conv: Conversation = {
  id: 1, kind: 'public', name: 'Long', topic: '', archived: false, lastSeq: 300, lastReadSeq: 300, unread: 0, mentionSeqs: [],
  lastActivityAt: null, notificationsMuted: false, peer: null, peers: [], hiddenThroughSeq: null,
};

async function openStore(): Promise<{ store: ChatStore; ws: FakeSocket; history: () => ClientFrame[] }> {
  const { store, ws } = await storeOnFakeSocket(conv);
  ws.push({ type: 'joined', room: { id: 1, name: 'Long', kind: 'public', archived: false }, lastSeq: 300, resumedFrom: 250 });
  for (const m of range(251, 300)) ws.push({ type: 'message', room: 1, message: m });
  ws.push({ type: 'caught_up', room: 1, seq: 300 });
  return { store, ws, history: () => ws.sent.filter((f) => f.type === 'history') };
}

const seqs = (store: ChatStore) => store.rooms.get(1)!.messages.map((m) => m.seq);

describe('ChatStore: opening a room at an older message', () => {
  it('loads a window around the seq, counts live messages meanwhile, and pages forward until it meets the live end', async () => {
    const { store, ws, history } = await openStore();
    const room = store.rooms.get(1)!;
    expect(seqs(store)).toEqual(range(251, 300).map((m) => m.seq));

    // A seq already loaded needs no request.
    store.openAt(1, 280);
    expect(history()).toEqual([]);
    expect(room.jump).toBe(280);

    store.openAt(1, 100);
    expect(history()).toEqual([{ type: 'history', room: 1, aroundSeq: 100, limit: 100 }]);
    ws.push({ type: 'history', room: 1, messages: range(50, 149), hasMore: true, hasNewer: true, aroundSeq: 100 });
    expect(seqs(store)).toEqual(range(50, 149).map((m) => m.seq));
    expect(room).toMatchObject({ gapAfter: true, hasMore: true, jump: 100 });

    // Live while reading the window: counted (last seq), not shown.
    ws.push({ type: 'message', room: 1, message: msg(301) });
    expect(seqs(store).at(-1)).toBe(149);
    expect(room.conv.lastSeq).toBe(301);

    store.loadNewer(1);
    store.loadNewer(1); // one page at a time
    expect(history().slice(1)).toEqual([{ type: 'history', room: 1, afterSeq: 149, limit: 100 }]);
    ws.push({ type: 'history', room: 1, messages: range(150, 249), hasMore: true, hasNewer: true, afterSeq: 149 });
    expect(seqs(store).at(-1)).toBe(249);

    store.loadNewer(1);
    // The page was read before 301 committed: it ends at 300 with hasNewer false, yet 301 exists.
    ws.push({ type: 'history', room: 1, messages: range(250, 300), hasMore: true, hasNewer: false, afterSeq: 249 });
    expect(room.gapAfter).toBe(true);
    store.loadNewer(1);
    expect(history().at(-1)).toEqual({ type: 'history', room: 1, afterSeq: 300, limit: 100 });
    ws.push({ type: 'history', room: 1, messages: [msg(301)], hasMore: true, hasNewer: false, afterSeq: 300 });
    expect(room.gapAfter).toBe(false);

    // Live again: the next message is appended.
    ws.push({ type: 'message', room: 1, message: msg(302) });
    const all = seqs(store);
    expect(all).toEqual(range(50, 302).map((m) => m.seq));
  });

  it('a stale forward page is ignored, and sending from an older window returns to the latest messages', async () => {
    const { store, ws, history } = await openStore();
    store.openAt(1, 20);
    ws.push({ type: 'history', room: 1, messages: range(1, 70), hasMore: false, hasNewer: true, aroundSeq: 20 });
    ws.push({ type: 'history', room: 1, messages: range(200, 210), hasMore: true, hasNewer: true, afterSeq: 199 });
    expect(seqs(store).at(-1)).toBe(70);

    store.send(1, 'hello');
    expect(history().at(-1)).toEqual({ type: 'history', room: 1, aroundSeq: 300, limit: 100 });
    ws.push({ type: 'history', room: 1, messages: range(250, 300), hasMore: true, hasNewer: false, aroundSeq: 300 });
    expect(store.rooms.get(1)).toMatchObject({ gapAfter: false, jump: null });
    expect(seqs(store)).toEqual(range(250, 300).map((m) => m.seq));
  });
});
