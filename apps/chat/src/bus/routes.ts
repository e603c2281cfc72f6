// Where each bus event travels on Redis. Room traffic (committed messages, tips, typing) goes on one
// channel per room, which a replica subscribes to only while a socket of its own is in the room, so a
// replica never receives (let alone decodes) what happens in rooms it does not serve. Replica-wide events
// go on two channels every replica always subscribes to: presence (snapshots and diffs) and replicas
// (stats, sync, bye). Names are suffixes of the deployment's key prefix; each is its own Redis Cluster
// hash slot (no hash tags), so sharded pub/sub spreads rooms over the cluster's shards.
import { type BusEvent, type BusEventOf, messagesEvent } from './events.ts';

export const PRESENCE_CHANNEL = 'presence';
export const REPLICAS_CHANNEL = 'replicas';
const ROOM = 'room:';

export function roomChannel(roomId: number): string {
  return `${ROOM}${roomId}`;
}

/** The room of a room channel (`suffix` without the key prefix), or null for a replica-wide channel. */
export function roomOfChannel(suffix: string): number | null {
  if (!suffix.startsWith(ROOM)) return null;
  const id = Number(suffix.slice(ROOM.length));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export interface Routed {
  channel: string;
  event: BusEvent;
}

/**
 * The channel(s) an event goes on. A batched `msgs` event spanning rooms is split into one event per
 * room, each keeping the batch's order for its room (all that receivers rely on: seq order per room).
 */
export function routeEvent(event: BusEvent): Routed[] {
  switch (event.k) {
    case 'msgs':
      return splitByRoom(event);
    case 'tip':
    case 'typing':
      return [{ channel: roomChannel(event.room), event }];
    case 'presence':
    case 'presence_diff':
      return [{ channel: PRESENCE_CHANNEL, event }];
    case 'replica':
    case 'sync':
    case 'bye':
      return [{ channel: REPLICAS_CHANNEL, event }];
  }
}

function splitByRoom(event: BusEventOf<'msgs'>): Routed[] {
  const first = event.messages[0];
  if (!first) return [];
  if (event.messages.every((m) => m.roomId === first.roomId)) return [{ channel: roomChannel(first.roomId), event }];
  const byRoom = new Map<number, BusEventOf<'msgs'>['messages']>();
  for (const m of event.messages) {
    const list = byRoom.get(m.roomId);
    if (list) list.push(m);
    else byRoom.set(m.roomId, [m]);
  }
  return [...byRoom].map(([room, messages]) => ({ channel: roomChannel(room), event: messagesEvent(event.from, messages) }));
}
