// The fan-out bus between chat replicas (Redis pub/sub, or Postgres NOTIFY in embedded mode). The
// events and their schemas are in events.ts.
export { type BusEvent, type BusEventOf, busEventSchema, chatMessageSchema, decodeEvent, encodeEvent, messagesEvent, ownEchoPrefix } from './events.ts';
import type { BusEvent } from './events.ts';

export interface Bus {
  readonly kind: 'redis' | 'postgres';
  publish(event: BusEvent): Promise<void>;
  onEvent(handler: (event: BusEvent) => void): void;
  /** Called each time the subscription is (re)established; events in between may have been lost. */
  onResubscribe(handler: () => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}
