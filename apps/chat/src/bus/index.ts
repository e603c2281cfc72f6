// The fan-out bus between chat replicas. At-most-once by nature (pub/sub): receivers repair seq gaps
// from Postgres, so a lost event delays a message but never loses it.
import type { ChatMessage, UserRef } from '@parley/protocol';

export type BusEvent =
  /** A committed message; `message` is absent when the payload was too big for the transport (fetch it). */
  | { k: 'msg'; room: number; seq: number; message?: ChatMessage }
  /**
   * Several committed messages (one writer batch), in commit order (so per room in seq order). `from` is
   * the publishing replica, which delivered them locally already (buses drop their own echo undecoded,
   * see ownEchoPrefix). Replicas keep accepting the single 'msg' event (mixed-version rolling deploys).
   */
  | { k: 'msgs'; from: string; messages: ChatMessage[] }
  /** An edited or deleted message; `from` is the publishing replica (which delivered it locally already). */
  | { k: 'upd'; room: number; message: ChatMessage; from?: string }
  /** An edit/delete whose payload was too big for the transport: fetch the message by seq. */
  | { k: 'updref'; room: number; seq: number; from?: string }
  /** `from` is the typing connection (not echoed to it), `replica` the publishing replica. */
  | { k: 'typing'; room: number; user: UserRef; from: string; replica?: string }
  | { k: 'presence'; replica: string; rooms: Record<string, UserRef[]>; full: boolean; at: number }
  | { k: 'replica'; replica: string; connections: number; rooms: number; startedAt: string; at: number; draining: boolean; messagesPerMinute?: number }
  | { k: 'sync'; from: string }
  | { k: 'kick'; userId?: number; sessionId?: string; reason: string; until: number; from?: string }
  | { k: 'mod'; room: number | null; action: 'muted' | 'unmuted' | 'banned'; userId: number; until: string | null; from?: string }
  /** A user lost access to a room (removed from a private room): their sockets leave it. */
  | { k: 'member'; room: number; userId: number; action: 'removed'; from?: string }
  /** A room was archived or unarchived: its open sockets are told. */
  | { k: 'archived'; room: number; archived: boolean; from?: string }
  | { k: 'bye'; replica: string };

export interface Bus {
  readonly kind: 'redis' | 'postgres';
  publish(event: BusEvent): Promise<void>;
  onEvent(handler: (event: BusEvent) => void): void;
  /** Called each time the subscription is (re)established; events in between may have been lost. */
  onResubscribe(handler: () => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}

export function encodeEvent(event: BusEvent): string {
  return JSON.stringify(event);
}

/** Build a batched message event; `k` and `from` come first so ownEchoPrefix matches its encoding. */
export function messagesEvent(from: string, messages: ChatMessage[]): Extract<BusEvent, { k: 'msgs' }> {
  return { k: 'msgs', from, messages };
}

/**
 * The start of the encoding of a 'msgs' event published by `replicaId`: a bus that sees a payload with
 * this prefix can drop it without decoding it (the publisher delivered those messages locally).
 */
export function ownEchoPrefix(replicaId: string): string {
  return `{"k":"msgs","from":${JSON.stringify(replicaId)},`;
}

export function decodeEvent(payload: string): BusEvent | null {
  try {
    const value = JSON.parse(payload) as BusEvent;
    return value && typeof value === 'object' && typeof value.k === 'string' ? value : null;
  } catch {
    return null;
  }
}
