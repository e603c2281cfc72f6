import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { RoomState, type Subscriber } from './room-state.ts';

const msg = (seq: number): ChatMessage => ({
  id: seq, roomId: 1, seq, author: { id: 1, handle: 'a', displayName: 'A' }, clientId: `c${seq}`, body: `m${seq}`,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

function setup(deliveredSeq: number, db: ChatMessage[]) {
  const received: number[] = [];
  const sub: Subscriber = { connId: 'x', catchingUp: false, buffer: [], sendRaw: (f) => received.push(JSON.parse(f).message.seq) };
  const room = new RoomState({ id: 1, name: 'r', kind: 'public', archived: false }, deliveredSeq, {
    after: async (_r, after, limit, upto = Infinity) => db.filter((m) => m.seq > after && m.seq <= upto).slice(0, limit),
  }, (err) => { throw err; });
  room.subs.set('x', sub);
  return { room, received, sub };
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
});
