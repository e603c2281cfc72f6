// The Redis bus on the real Redis: a replica receives the events of the rooms it watches and the
// replica-wide ones, nothing of other rooms; subscriptions follow watch/unwatch (a rejoin during the
// unsubscribe ends subscribed) and each confirmed subscription names its rooms for repair; after the
// subscriber connection is cut everything is subscribed again and reported.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import type { ChatMessage } from '@parley/protocol';
import { createLogger } from '@parley/logging';
import { dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL } from '@parley/devtools';
import { type Bus, type BusEvent, type Resubscribed, messagesEvent } from './index.ts';
import { createRedisBus } from './redis-bus.ts';

const log = createLogger('chat', 'silent');
const msg = (roomId: number, seq: number): ChatMessage => ({
  id: roomId * 1000 + seq, roomId, seq, author: { id: 1, handle: 'u1', displayName: 'U' }, clientId: `c${roomId}-${seq}`, body: `m${seq}`,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pair(lingerMs = 0) {
  const prefix = testRedisPrefix('bus');
  const make = (name: string) => {
    const replicaId = `${name}-${prefix.split(':')[2]}`;
    const bus = createRedisBus(TEST_REDIS_URL, prefix, log, { replicaId, roomLingerMs: lingerMs });
    const events: BusEvent[] = [];
    const resubscribed: Resubscribed[] = [];
    bus.onEvent((e) => events.push(e));
    bus.onResubscribe((r) => resubscribed.push(r));
    cleanups.push(() => bus.close());
    return { bus, events, resubscribed, replicaId };
  };
  cleanups.push(() => dropRedisPrefix(prefix));
  return { prefix, a: make('a'), b: make('b') };
}

const healthy = (...buses: Bus[]) => vi.waitFor(() => expect(buses.every((b) => b.healthy())).toBe(true));
const rooms = (events: BusEvent[]) => events.flatMap((e) => (e.k === 'msgs' ? e.messages.map((m) => `${m.roomId}:${m.seq}`) : e.k === 'tip' || e.k === 'typing' ? [`${e.k}:${e.room}`] : []));
/** Everything `from` published before is at `to` (one connection each way, so Redis keeps the order). */
async function settled(from: Bus, to: BusEvent[]) {
  const before = to.filter((e) => e.k === 'sync').length;
  await from.publish({ k: 'sync', from: 'marker' });
  await vi.waitFor(() => expect(to.filter((e) => e.k === 'sync').length).toBeGreaterThan(before));
}
const shardSubscribers = async (prefix: string, room: number) => {
  const admin = new Redis(TEST_REDIS_URL);
  try {
    return Number((await admin.call('PUBSUB', 'SHARDNUMSUB', `${prefix}room:${room}`) as [string, number])[1]);
  } finally {
    admin.disconnect();
  }
};
const confirmedRooms = (rs: Resubscribed[]) => rs.flatMap((r) => (r.rooms === 'all' ? [] : r.rooms));

describe('Redis bus: channels per room', () => {
  it('delivers a watched room\'s part of a batch, nothing of unwatched rooms, and every replica-wide event', async () => {
    const { a, b } = pair();
    await healthy(a.bus, b.bus);
    void a.bus.watchRoom(1);
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([1]));
    await b.bus.publish(messagesEvent(b.replicaId, [msg(1, 1), msg(2, 1), msg(1, 2)]));
    await b.bus.publish({ k: 'tip', room: 2, seq: 5 });
    await b.bus.publish({ k: 'tip', room: 1, seq: 3 });
    await settled(b.bus, a.events);
    expect(rooms(a.events)).toEqual(['1:1', '1:2', 'tip:1']);
    // b watches nothing: it hears only the replica-wide event (its own, echoed).
    await vi.waitFor(() => expect(b.events.map((e) => e.k)).toEqual(['sync']));
    expect(a.resubscribed.every((r) => !r.replicaWide)).toBe(true);
  });

  it('watchRoom resolves once the subscription is in effect: an event published right after it arrives', async () => {
    const { a, b } = pair();
    await healthy(a.bus, b.bus);
    for (const room of [11, 12, 13]) {
      await a.bus.watchRoom(room);
      // No waitFor here: the resolution itself says the channel is live.
      await b.bus.publish({ k: 'tip', room, seq: 1 });
    }
    await settled(b.bus, a.events);
    expect(rooms(a.events)).toEqual(['tip:11', 'tip:12', 'tip:13']);
    // Their repair is still asked for (confirmations are reported in batches).
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([11, 12, 13]));
  });

  it('stops delivering after unwatch, and a rejoin during the unsubscribe ends subscribed', async () => {
    const { prefix, a, b } = pair();
    await healthy(a.bus, b.bus);
    void a.bus.watchRoom(1);
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([1]));
    a.bus.unwatchRoom(1);
    await vi.waitFor(async () => expect(await shardSubscribers(prefix, 1)).toBe(0));
    await b.bus.publish({ k: 'tip', room: 1, seq: 1 });
    // Unsubscribe sent, then the room is joined again before anything else happens.
    void a.bus.watchRoom(1);
    a.bus.unwatchRoom(1);
    await new Promise((r) => setImmediate(r));
    void a.bus.watchRoom(1);
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([1, 1]));
    await b.bus.publish({ k: 'tip', room: 1, seq: 2 });
    await settled(b.bus, a.events);
    expect(a.events.flatMap((e) => (e.k === 'tip' ? [e.seq] : []))).toEqual([2]);
    expect(await shardSubscribers(prefix, 1)).toBe(1);
  });

  it('drops a lingering room\'s events and reports the room when it is joined again', async () => {
    const { a, b } = pair(60_000);
    await healthy(a.bus, b.bus);
    void a.bus.watchRoom(1);
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([1]));
    a.bus.unwatchRoom(1);
    await b.bus.publish({ k: 'tip', room: 1, seq: 1 });
    await settled(b.bus, a.events);
    void a.bus.watchRoom(1); // still subscribed: confirmed at once, for the repair of what came in between
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toEqual([1, 1]));
    await b.bus.publish({ k: 'tip', room: 1, seq: 2 });
    await settled(b.bus, a.events);
    expect(a.events.flatMap((e) => (e.k === 'tip' ? [e.seq] : []))).toEqual([2]);
  });

  it('subscribes every watched room again after the subscriber connection is cut, and says so', async () => {
    const { a, b } = pair();
    await healthy(a.bus, b.bus);
    const many = Array.from({ length: 2_500 }, (_, i) => i + 1);
    for (const room of many) void a.bus.watchRoom(room);
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed)).toHaveLength(many.length));
    const admin = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void admin.disconnect());
    const before = a.resubscribed.length;
    // Only this bus's subscriber (the shared Redis serves other suites' replicas too).
    const list = await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string;
    const id = list.split('\n').find((line) => line.includes(` name=parley-chat-sub:${a.replicaId} `))?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await admin.call('CLIENT', 'KILL', 'ID', id!);
    await vi.waitFor(() => expect(a.resubscribed.slice(before).some((r) => r.replicaWide)).toBe(true), { timeout: 15_000 });
    await vi.waitFor(() => expect(confirmedRooms(a.resubscribed.slice(before)).sort((x, y) => x - y)).toEqual(many), { timeout: 15_000 });
    // Reported in a few batches (each one Postgres reconcile), not room by room.
    expect(a.resubscribed.slice(before).filter((r) => !r.replicaWide).length).toBeLessThanOrEqual(3);
    await b.bus.publish(messagesEvent(b.replicaId, [msg(2_500, 1), msg(2_501, 1)]));
    await vi.waitFor(() => expect(rooms(a.events)).toEqual(['2500:1']));
  });
});
