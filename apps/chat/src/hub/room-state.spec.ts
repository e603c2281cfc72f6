import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { RoomState, type Subscriber } from './room-state.ts';

const msg = (seq: number): ChatMessage => ({
  id: seq, roomId: 1, seq, author: { id: 1, handle: 'a', displayName: 'A' }, clientId: `c${seq}`, body: `m${seq}`,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

function setup(deliveredSeq: number, db: ChatMessage[]) {
  const received: number[] = [];
  const sub: Subscriber = { connId: 'x', catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => received.push(JSON.parse(f).message?.seq ?? -1), overflow: () => { overflowed.count++; } };
  const overflowed = { count: 0 };
  const room = new RoomState({ id: 1, name: 'r', kind: 'public', archived: false }, deliveredSeq, {
    after: async (_r, after, limit, upto = Infinity) => db.filter((m) => m.seq > after && m.seq <= upto).slice(0, limit),
  }, (err) => { throw err; });
  room.subs.set('x', sub);
  return { room, received, sub, overflowed };
}

describe('RoomState', () => {
  it('delivers in order and drops duplicates', () => {
    const { room, received } = setup(0, []);
    room.committed(1, msg(1));
    room.committed(2, msg(2));
    room.committed(2, msg(2));
    room.committed(1, msg(1));
    expect(received).toEqual([1, 2]);
  });

  it('holds an out-of-order message and repairs the gap from the database', async () => {
    const db = [1, 2, 3, 4, 5].map(msg);
    const { room, received } = setup(1, db);
    room.committed(4, msg(4)); // 2 and 3 were lost by pub/sub
    await room.settled();
    room.committed(5, msg(5));
    await room.settled();
    expect(received).toEqual([2, 3, 4, 5]);
  });

  it('fetches a message announced only by seq', async () => {
    const { room, received } = setup(0, [msg(1)]);
    room.committed(1, null);
    await room.settled();
    expect(received).toEqual([1]);
  });

  it('reconcile catches up when events were lost and nothing else arrives', async () => {
    const { room, received } = setup(0, [1, 2, 3].map(msg));
    room.reconcile(3);
    await room.settled();
    expect(received).toEqual([1, 2, 3]);
  });

  it('buffers for a subscriber that is catching up', () => {
    const { room, received, sub } = setup(0, []);
    sub.catchingUp = true;
    room.committed(1, msg(1));
    expect(received).toEqual([]);
    expect(sub.buffer.map((m) => m.seq)).toEqual([1]);
  });

  it('never re-sends what a subscriber already has from its backlog (room behind the subscriber)', () => {
    const { room, received, sub } = setup(10, []);
    sub.seq = 15; // its backlog from Postgres went further than this replica's live stream
    for (let s = 11; s <= 17; s++) room.committed(s, msg(s));
    expect(received).toEqual([16, 17]);
    expect(sub.seq).toBe(17);
  });

  it('buffers non-message frames in order for a catching-up subscriber and closes it when the buffer overflows', () => {
    const { room, sub, overflowed } = setup(0, []);
    sub.catchingUp = true;
    room.committed(1, msg(1));
    room.broadcast('{"type":"updated"}');
    room.committed(2, msg(2));
    expect(sub.buffer.map((b) => b.seq)).toEqual([1, null, 2]);
    for (let s = 3; s < 20_000 && overflowed.count === 0; s++) room.committed(s, msg(s));
    expect(overflowed.count).toBe(1);
  });

  it('stops repairing (instead of spinning) when the database cannot fill the gap yet', async () => {
    let calls = 0;
    const received: number[] = [];
    const room = new RoomState({ id: 1, name: 'r', kind: 'public', archived: false }, 0, {
      after: async () => { calls++; return [msg(3)]; }, // seq 1 is not visible: no progress possible
    }, (err) => { throw err; });
    room.subs.set('x', { connId: 'x', catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => received.push(JSON.parse(f).message.seq), overflow: () => undefined });
    room.committed(3, msg(3));
    await room.settled();
    expect(calls).toBe(1);
    expect(received).toEqual([]);
  });
});
