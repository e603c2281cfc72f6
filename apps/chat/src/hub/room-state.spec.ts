import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { DELIVERY_CHUNK, RoomState, type Frame, type Subscriber } from './room-state.ts';

/** The seq of the message a sent frame carries (undefined: not a message frame). */
const sentSeq = (f: Frame): number | undefined => (JSON.parse(String(f)) as { message?: { seq: number } }).message?.seq;

const msg = (seq: number): ChatMessage => ({
  id: seq, roomId: 1, seq, author: { id: 1, handle: 'a', displayName: 'A' }, clientId: `c${seq}`, body: `m${seq}`,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

function setup(deliveredSeq: number, db: ChatMessage[]) {
  const received: number[] = [];
  const sub: Subscriber = { connId: 'x', catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => received.push(sentSeq(f) ?? -1), overflow: () => { overflowed.count++; } };
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
    room.subs.set('x', { connId: 'x', catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => received.push(sentSeq(f)!), overflow: () => undefined });
    room.committed(3, msg(3));
    await room.settled();
    expect(calls).toBe(1);
    expect(received).toEqual([]);
  });

  describe('chunked delivery to a big room', () => {
    const room = () => new RoomState({ id: 1, name: 'r', kind: 'public', archived: false }, 0, { after: async () => [] }, (err) => { throw err; });
    const turn = () => new Promise((r) => setImmediate(r));
    /** A subscriber recording what it got: message seqs, and -1 for other frames. */
    const subscriber = (id: string, log: number[][] = []) => {
      const got: number[] = [];
      log.push(got);
      const sub: Subscriber = { connId: id, catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => got.push(sentSeq(f) ?? -1), overflow: () => undefined };
      return { sub, got };
    };

    it('sends at most about one chunk per event-loop turn, and every subscriber gets every frame in order', async () => {
      const r = room();
      const n = DELIVERY_CHUNK * 3 + 7;
      const all: number[][] = [];
      for (let i = 0; i < n; i++) r.subs.set(`s${i}`, subscriber(`s${i}`, all).sub);
      const sent = () => all.reduce((k, g) => k + g.length, 0);
      r.committed(1, msg(1));
      expect(sent()).toBe(DELIVERY_CHUNK); // the first chunk goes out at once, the rest later
      r.committed(2, msg(2));
      r.broadcast('{"type":"updated"}');
      r.committed(3, msg(3));
      expect(sent()).toBe(DELIVERY_CHUNK); // queued behind the first message, not sent out of turn
      expect(r.queuedFrames).toBe(4);
      await turn();
      expect(sent()).toBeLessThanOrEqual(DELIVERY_CHUNK * 2);
      await r.settled();
      expect(r.queuedFrames).toBe(0);
      for (const got of all) expect(got).toEqual([1, 2, -1, 3]);
      expect(r.deliveredSeq).toBe(3);
    });

    it('keeps the per-subscriber order while subscribers join, leave and catch up mid-delivery', async () => {
      const r = room();
      const all: number[][] = [];
      for (let i = 0; i < DELIVERY_CHUNK * 2; i++) r.subs.set(`s${i}`, subscriber(`s${i}`, all).sub);
      for (let s = 1; s <= 5; s++) r.committed(s, msg(s));
      // A subscriber joining while frames are on their way gets them into its catch-up buffer, in order.
      const late = subscriber('late');
      late.sub.catchingUp = true;
      r.subs.set('late', late.sub);
      // One that leaves gets nothing more; one that rejoins starts over (catching up).
      r.subs.delete('s1');
      r.subs.delete('s2');
      const rejoined = subscriber('s2');
      rejoined.sub.catchingUp = true;
      r.subs.set('s2', rejoined.sub);
      await turn();
      for (let s = 6; s <= 8; s++) r.committed(s, msg(s));
      await r.settled();
      expect(late.got).toEqual([]);
      expect(late.sub.buffer.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rejoined.sub.buffer.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(all[1]).toEqual([1]); // the first chunk reached it before it left
      expect(all[2]).toEqual([1]);
      for (const [i, got] of all.entries()) if (i > 2) expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('a subscriber that went live mid-delivery skips what its backlog already had and gets the rest in order', async () => {
      const r = room();
      const all: number[][] = [];
      for (let i = 0; i < DELIVERY_CHUNK * 2; i++) r.subs.set(`s${i}`, subscriber(`s${i}`, all).sub);
      const joiner = subscriber('j');
      joiner.sub.catchingUp = true;
      r.subs.set('j', joiner.sub);
      for (let s = 1; s <= 4; s++) r.committed(s, msg(s));
      // The joiner's replay read up to seq 2 from Postgres and went live before the queue reached it.
      joiner.sub.buffer = [];
      joiner.sub.seq = 2;
      joiner.sub.catchingUp = false;
      await r.settled();
      expect(joiner.got).toEqual([3, 4]);
    });

    it('a subscriber whose socket throws does not stall the room', async () => {
      const errors: unknown[] = [];
      const r = new RoomState({ id: 1, name: 'r', kind: 'public', archived: false }, 0, { after: async () => [] }, (err) => errors.push(err));
      r.subs.set('bad', { connId: 'bad', catchingUp: false, buffer: [], seq: 0, sendRaw: () => { throw new Error('boom'); }, overflow: () => undefined });
      const ok = subscriber('ok');
      r.subs.set('ok', ok.sub);
      r.committed(1, msg(1));
      r.committed(2, msg(2));
      await r.settled();
      expect(ok.got).toEqual([1, 2]);
      expect(errors).toHaveLength(2);
    });

    it('encodes each frame once for all subscribers (the same Buffer goes to every socket)', () => {
      const r = room();
      const frames: unknown[] = [];
      for (let i = 0; i < 3; i++) r.subs.set(`s${i}`, { connId: `s${i}`, catchingUp: false, buffer: [], seq: 0, sendRaw: (f) => frames.push(f), overflow: () => undefined });
      r.committed(1, msg(1));
      expect(frames).toHaveLength(3);
      expect(Buffer.isBuffer(frames[0])).toBe(true);
      expect(new Set(frames).size).toBe(1);
    });
  });
});
