// The fan-out bus between chat replicas (Redis sharded pub/sub, or Postgres NOTIFY in embedded mode).
// The events and their schemas are in events.ts, the Redis channel of each event in routes.ts.
export { type BusEvent, type BusEventOf, busEventSchema, chatMessageSchema, decodeEvent, encodeEvent, messagesEvent, ownEchoPrefix } from './events.ts';
import type { BusEvent } from './events.ts';

/** Subscriptions (re)established: what was missing from the bus meanwhile may have been lost. */
export interface Resubscribed {
  /** Rooms whose events may have been lost ('all': every room this replica has open). */
  rooms: number[] | 'all';
  /** The replica-wide events (presence, replica stats, sync, bye) may have been lost: a reconnect. */
  replicaWide: boolean;
}

export interface Bus {
  readonly kind: 'redis' | 'postgres';
  publish(event: BusEvent): Promise<void>;
  onEvent(handler: (event: BusEvent) => void): void;
  /**
   * A socket of this replica is in the room: receive its events (messages, tips, typing) from now on.
   * Called once per room when its first local socket joins (not counted: one unwatch undoes it).
   * Resolves when the room's events flow (its subscription is in effect), or after a bounded wait when
   * it cannot be confirmed (the transport is down: the seq-gap repair covers that room). Joins wait for
   * it before they read the backlog, so a message committed after `caught_up` arrives live.
   */
  watchRoom(roomId: number): Promise<void>;
  /** No socket of this replica is in the room any more: its events may stop arriving. */
  unwatchRoom(roomId: number): void;
  /**
   * Called when subscriptions are established: after a reconnect (replica-wide, every watched room) and
   * when a watched room's subscription is confirmed (events between the room's read from Postgres and
   * the confirmation were not received). The receiver repairs the rooms named from Postgres.
   */
  onResubscribe(handler: (lost: Resubscribed) => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}
