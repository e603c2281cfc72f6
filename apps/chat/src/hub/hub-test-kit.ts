// Shared scaffolding for the hub's unit specs: a fake socket, a recording bus and a hub wired to a
// scripted repository (no Postgres, no sockets, no Redis).
import type { WebSocket } from 'ws';
import { createLogger } from '@parley/logging';
import type { ServerFrame } from '@parley/protocol';
import { type Bus, type BusEvent, decodeEvent, encodeEvent } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import { Hub, type HubOptions } from './hub.ts';

export class FakeWs {
  readonly frames: ServerFrame[] = [];
  bufferedAmount = 0;
  private readonly handlers = new Map<string, (...args: unknown[]) => void>();
  on(event: string, fn: (...args: unknown[]) => void): this {
    this.handlers.set(event, fn);
    return this;
  }
  send(data: string | Buffer): void {
    this.frames.push(JSON.parse(String(data)) as ServerFrame);
  }
  close(): void {}
  terminate(): void {}
  ping(): void {}
  /** A client frame arrives. */
  receive(frame: unknown): void {
    this.handlers.get('message')?.(Buffer.from(JSON.stringify(frame)), false);
  }
}

export interface ScriptedHub {
  hub: Hub;
  /** Attach a fake socket for user `uid` (session `s<uid>`). */
  connect(uid: number): FakeWs;
  /** Events this replica published, as peers would decode them. */
  published: BusEvent[];
  /** Deliver an event as if it came from another replica over the bus. */
  fromPeer(event: BusEvent): void;
}

export function scriptedHub(
  messages: Partial<Record<keyof MessageRepository, unknown>>,
  { options = {}, handle = (uid: number) => `u${uid}` }: { options?: Partial<HubOptions>; handle?: (uid: number) => string } = {},
): ScriptedHub {
  const published: BusEvent[] = [];
  let deliver: (e: BusEvent) => void = () => undefined;
  const bus: Bus = {
    kind: 'redis',
    publish: async (e) => void published.push(decodeEvent(encodeEvent(e))!),
    onEvent: (h) => void (deliver = h),
    onResubscribe: () => undefined,
    healthy: () => true,
    close: async () => undefined,
  };
  const hub = new Hub({
    replicaId: 'r1', maxMessageBytes: 4096, maxBufferedBytes: 1 << 20, sendRatePerSec: 10, sendBurst: 30,
    heartbeatMs: 25_000, presenceTtlMs: 30_000, historyPageSize: 100, ...options,
  }, messages as unknown as MessageRepository, bus, createLogger('chat', 'silent'));
  const connect = (uid: number) => {
    const ws = new FakeWs();
    hub.attach(ws as unknown as WebSocket, { uid, sid: `s${uid}`, handle: handle(uid), name: `U${uid}`, role: 'user', iat: 0, exp: 0 }, 'req');
    return ws;
  };
  return { hub, connect, published, fromPeer: (e) => deliver(e) };
}
