// Each event's Redis channel: room traffic per room (a batch spanning rooms split, in order), presence
// and replica events on their own channels.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { decodeEvent, encodeEvent, messagesEvent, ownEchoPrefix } from './events.ts';
import { PRESENCE_CHANNEL, REPLICAS_CHANNEL, roomChannel, roomOfChannel, routeEvent } from './routes.ts';

const msg = (roomId: number, seq: number): ChatMessage => ({
  id: roomId * 1000 + seq, roomId, seq, author: { id: 1, handle: 'u1', displayName: 'U' }, clientId: `c${roomId}-${seq}`, body: `m${seq}`,
  createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

describe('bus routes', () => {
  it('splits a batch spanning rooms into one msgs event per room, each in batch order', () => {
    const batch = messagesEvent('r1', [msg(1, 1), msg(2, 1), msg(1, 2), msg(3, 7), msg(2, 2)]);
    const routed = routeEvent(batch);
    expect(routed.map((r) => r.channel)).toEqual([roomChannel(1), roomChannel(2), roomChannel(3)]);
    expect(routed.map((r) => (r.event.k === 'msgs' ? r.event.messages.map((m) => `${m.roomId}:${m.seq}`) : []))).toEqual([['1:1', '1:2'], ['2:1', '2:2'], ['3:7']]);
    // Each part keeps the publisher (and the encoding its echo is dropped by).
    for (const r of routed) expect(encodeEvent(r.event).startsWith(ownEchoPrefix('r1'))).toBe(true);
    for (const r of routed) expect(decodeEvent(encodeEvent(r.event))).toEqual(r.event);
  });

  it('sends a one-room batch as it is', () => {
    const batch = messagesEvent('r1', [msg(4, 1), msg(4, 2)]);
    expect(routeEvent(batch)).toEqual([{ channel: 'room:4', event: batch }]);
  });

  it('puts tips and typing on the room channel, presence and replica events on their own', () => {
    const user = { id: 1, handle: 'u1', displayName: 'U' };
    expect(routeEvent({ k: 'tip', room: 9, seq: 3 })[0]!.channel).toBe('room:9');
    expect(routeEvent({ k: 'typing', room: 9, user, from: 'c1' })[0]!.channel).toBe('room:9');
    expect(routeEvent({ k: 'presence', replica: 'r1', rooms: {}, full: true, at: 0 })[0]!.channel).toBe(PRESENCE_CHANNEL);
    expect(routeEvent({ k: 'presence_diff', replica: 'r1', seq: 1, rooms: {}, at: 0 })[0]!.channel).toBe(PRESENCE_CHANNEL);
    expect(routeEvent({ k: 'sync', from: 'r1' })[0]!.channel).toBe(REPLICAS_CHANNEL);
    expect(routeEvent({ k: 'bye', replica: 'r1' })[0]!.channel).toBe(REPLICAS_CHANNEL);
  });

  it('reads the room back from a room channel only', () => {
    expect(roomOfChannel(roomChannel(123))).toBe(123);
    expect(roomOfChannel(PRESENCE_CHANNEL)).toBeNull();
    expect(roomOfChannel('room:x')).toBeNull();
  });
});
