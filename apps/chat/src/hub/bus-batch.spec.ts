// Batched fan-out events: a writer batch goes to the bus as one 'msgs' event (commit order); received
// 'msgs' events are delivered in order, a 'tip' hint makes the room fetch up to it, a replica ignores
// its own echo, and malformed events are dropped by the bus schema.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { decodeEvent, encodeEvent, messagesEvent, ownEchoPrefix } from '../bus/index.ts';
import type { RoomAccess, StoreResult } from '../messages/message-repository.ts';
import type { Hub } from './hub.ts';
import { type FakeWs, scriptedHub } from './hub-test-kit.ts';

const ROOM = 7;
const OTHER = 8;
const roomAccess = async (roomId: number): Promise<RoomAccess> => ({ room: { id: roomId, name: `r${roomId}`, kind: 'public', archived: false }, lastSeq: 0, isMember: true, mutedUntil: null });

const msg = (roomId: number, seq: number, body = `m${seq}`): ChatMessage => ({
  id: roomId * 1000 + seq, roomId, seq, author: { id: 99, handle: 'u99', displayName: 'U' }, clientId: `c${roomId}-${seq}`, body,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

function setup() {
  const seqs = new Map<number, number>();
  /** What Postgres returns to a gap repair. */
  const fetchable: ChatMessage[] = [];
  /** Stores wait here until commit() resolves them all at once, like one writer batch. */
  const waiting: Array<() => void> = [];
  const t = scriptedHub({
    roomAccess,
    after: async (roomId: number, afterSeq: number) => fetchable.filter((m) => m.roomId === roomId && m.seq > afterSeq),
    lastSeqs: async () => new Map(),
    store: (m: { roomId: number; authorId: number; clientId: string; body: string }): Promise<StoreResult> => new Promise((resolve) => {
      waiting.push(() => {
        const seq = (seqs.get(m.roomId) ?? 0) + 1;
        seqs.set(m.roomId, seq);
        resolve({ message: { ...msg(m.roomId, seq, m.body), clientId: m.clientId, author: { id: m.authorId, handle: `u${m.authorId}`, displayName: 'U' } }, duplicate: false });
      });
    }),
  }, { options: { sendRatePerSec: 1000, sendBurst: 1000 } });
  const commit = () => {
    for (const r of waiting.splice(0)) r();
  };
  return { ...t, commit, deliver: t.fromPeer, waiting, fetchable };
}

const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

const messageSeqs = (ws: FakeWs, room: number) =>
  ws.frames.flatMap((f) => (f.type === 'message' && f.room === room ? [f.message.seq] : []));

async function joined(t: ReturnType<typeof setup>, ...rooms: number[]) {
  const ws = t.connect(1);
  for (const room of rooms) ws.receive({ type: 'join', room });
  await vi.waitFor(() => expect(ws.frames.filter((f) => f.type === 'caught_up')).toHaveLength(rooms.length));
  return ws;
}

describe('Hub: batched fan-out events', () => {
  it('publishes one msgs event per committed batch, in commit order, a lone message too', async () => {
    const t = setup();
    hubs.push(t.hub);
    const ws = await joined(t, ROOM, OTHER);
    t.published.length = 0;
    ws.receive({ type: 'send', room: ROOM, clientId: 'a1', body: 'a1' });
    ws.receive({ type: 'send', room: OTHER, clientId: 'b1', body: 'b1' });
    ws.receive({ type: 'send', room: ROOM, clientId: 'a2', body: 'a2' });
    await vi.waitFor(() => expect(t.waiting).toHaveLength(3));
    t.commit();
    await vi.waitFor(() => expect(ws.frames.filter((f) => f.type === 'ack')).toHaveLength(3));
    await new Promise((r) => setImmediate(r));
    expect(t.published.filter((e) => e.k === 'msgs')).toEqual([
      { k: 'msgs', from: 'r1', messages: [expect.objectContaining({ roomId: ROOM, seq: 1, body: 'a1' }), expect.objectContaining({ roomId: OTHER, seq: 1, body: 'b1' }), expect.objectContaining({ roomId: ROOM, seq: 2, body: 'a2' })] },
    ]);
    // Delivered locally, in order, without the bus.
    expect(messageSeqs(ws, ROOM)).toEqual([1, 2]);
    expect(messageSeqs(ws, OTHER)).toEqual([1]);

    t.published.length = 0;
    ws.receive({ type: 'send', room: ROOM, clientId: 'a3', body: 'a3' });
    await vi.waitFor(() => expect(t.waiting).toHaveLength(1));
    t.commit();
    await vi.waitFor(() => expect(t.published.filter((e) => e.k === 'msgs')).toHaveLength(1));
    expect(t.published).toEqual([{ k: 'msgs', from: 'r1', messages: [expect.objectContaining({ roomId: ROOM, seq: 3, body: 'a3' })] }]);
  });

  it('delivers a peer\'s msgs event in order, fetches up to a tip hint, and ignores its own echo', async () => {
    const t = setup();
    hubs.push(t.hub);
    const ws = await joined(t, ROOM, OTHER);
    t.deliver(decodeEvent(encodeEvent(messagesEvent('r2', [msg(ROOM, 1), msg(OTHER, 1), msg(ROOM, 2), msg(ROOM, 3)])))!);
    t.fetchable.push(msg(ROOM, 4));
    t.deliver(decodeEvent(encodeEvent({ k: 'tip', room: ROOM, seq: 4 }))!);
    await vi.waitFor(() => expect(messageSeqs(ws, ROOM)).toEqual([1, 2, 3, 4]));
    t.deliver(messagesEvent('r2', [msg(OTHER, 2), msg(ROOM, 5)]));
    expect(messageSeqs(ws, ROOM)).toEqual([1, 2, 3, 4, 5]);
    expect(messageSeqs(ws, OTHER)).toEqual([1, 2]);
    expect(ws.frames.find((f) => f.type === 'message' && f.message.seq === 3)).toMatchObject({ room: ROOM, message: { body: 'm3' } });
    // This replica's own batch (already delivered locally when committed) is not delivered again.
    t.deliver(messagesEvent('r1', [msg(ROOM, 6)]));
    expect(messageSeqs(ws, ROOM)).toEqual([1, 2, 3, 4, 5]);
  });

  it('lets a bus drop its own msgs echo undecoded, and only that', () => {
    const own = encodeEvent(messagesEvent('r1', [msg(ROOM, 1)]));
    expect(own.startsWith(ownEchoPrefix('r1'))).toBe(true);
    expect(encodeEvent(messagesEvent('r10', [msg(ROOM, 1)])).startsWith(ownEchoPrefix('r1'))).toBe(false);
    expect(encodeEvent({ k: 'typing', room: ROOM, user: msg(ROOM, 1).author, from: 'r1', replica: 'r1' }).startsWith(ownEchoPrefix('r1'))).toBe(false);
  });

  it('drops bus payloads that are not valid events instead of casting them', () => {
    expect(decodeEvent('not json')).toBeNull();
    expect(decodeEvent(JSON.stringify({ k: 'msg', room: ROOM, seq: 1 }))).toBeNull(); // the removed legacy event
    expect(decodeEvent(JSON.stringify({ k: 'kick', userId: 1, reason: 'x', until: 0 }))).toBeNull(); // bans are control events now
    expect(decodeEvent(JSON.stringify({ k: 'msgs', from: 'r2', messages: [{ ...msg(ROOM, 1), seq: 'one' }] }))).toBeNull();
    expect(decodeEvent(JSON.stringify({ k: 'typing', room: ROOM, from: 'c' }))).toBeNull(); // no user
    expect(decodeEvent(encodeEvent({ k: 'tip', room: ROOM, seq: 3 }))).toEqual({ k: 'tip', room: ROOM, seq: 3 });
  });
});
