// Shared scaffolding for the hub's unit specs: a fake socket, a recording bus, a scripted control-event
// store and a hub wired to a scripted repository (no Postgres, no sockets, no Redis).
import type { WebSocket } from 'ws';
import type { ChatTokenClaims } from '@parley/chat-token';
import type { ControlEvent, NewControlEvent } from '@parley/db';
import { createLogger } from '@parley/logging';
import type { ServerFrame } from '@parley/protocol';
import { type Bus, type BusEvent, type Resubscribed, decodeEvent, encodeEvent } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import type { ControlStore } from './control-store.ts';
import { Hub, type HubOptions } from './hub.ts';
import type { SessionChecker, SessionKey, SessionVerdict } from './session-checks.ts';

export class FakeWs {
  readonly frames: ServerFrame[] = [];
  bufferedAmount = 0;
  closedWith: { code: number; reason: string } | null = null;
  private readonly handlers = new Map<string, (...args: unknown[]) => void>();
  on(event: string, fn: (...args: unknown[]) => void): this {
    this.handlers.set(event, fn);
    return this;
  }
  send(data: string | Buffer): void {
    this.frames.push(JSON.parse(String(data)) as ServerFrame);
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
    this.handlers.get('close')?.call(this, code); // ws calls listeners with the socket as `this`
  }
  terminate(): void {}
  ping(): void {}
  isPaused = false;
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
  /** A client frame arrives. */
  receive(frame: unknown): void {
    this.handlers.get('message')?.call(this, Buffer.from(JSON.stringify(frame)), false);
  }
}

export interface ScriptedHub {
  hub: Hub;
  /** Attach a fake socket for user `uid` (session `s<uid>` unless given), as an upgrade whose check began at `checkedSince`. */
  connect: (uid: number, claims?: Partial<ChatTokenClaims>, checkedSince?: number) => FakeWs;
  /** Events this replica published, as peers would decode them. */
  published: BusEvent[];
  /** Rooms the bus is asked to bring events of (watchRoom minus unwatchRoom), and every call in order. */
  watched: Set<number>;
  watchCalls: string[];
  /** The bus says subscriptions were (re)established. */
  resubscribe: (lost: Resubscribed) => void;
  /** Deliver an event as if it came from another replica over the bus. */
  fromPeer: (event: BusEvent) => void;
  /** Commit a control event (as admin would) and let the hub apply everything up to it. */
  control(event: NewControlEvent): Promise<void>;
  /** Commit a control event only: the hub applies it in its next control-plane run that reads it. */
  commit(event: NewControlEvent): void;
  /** Control-event reads from now on see the events committed when they begin but answer only once released. */
  holdControlReads(): () => void;
  /** What the session checker answers (re-validation and upgrades). */
  setVerdict(verdict: (key: SessionKey) => SessionVerdict): void;
  /** Room members the control store reports. */
  members: Map<number, number[]>;
}

export function scriptedHub(
  messages: Partial<Record<keyof MessageRepository, unknown>>,
  { options = {}, handle = (uid: number) => `u${uid}` }: { options?: Partial<HubOptions>; handle?: (uid: number) => string } = {},
): ScriptedHub {
  const published: BusEvent[] = [];
  let deliver: (e: BusEvent) => void = () => undefined;
  let resubscribe: (lost: Resubscribed) => void = () => undefined;
  const watched = new Set<number>();
  const watchCalls: string[] = [];
  const bus: Bus = {
    kind: 'redis',
    publish: async (e) => void published.push(decodeEvent(encodeEvent(e))!),
    onEvent: (h) => void (deliver = h),
    watchRoom: (room) => {
      watched.add(room);
      watchCalls.push(`+${room}`);
      return Promise.resolve();
    },
    unwatchRoom: (room) => {
      watched.delete(room);
      watchCalls.push(`-${room}`);
    },
    onResubscribe: (h) => void (resubscribe = h),
    healthy: () => true,
    close: async () => undefined,
  };
  const events: ControlEvent[] = [];
  const members = new Map<number, number[]>();
  let held: Promise<void> | null = null;
  const store: ControlStore = {
    eventsAfter: async (cursor, limit) => {
      const snapshot = events.filter((e) => e.id > cursor).slice(0, limit); // as a query's snapshot: taken when it begins
      await held;
      return snapshot;
    },
    lastId: async () => events.at(-1)?.id ?? 0,
    membersOf: async (ids) => new Map(ids.map((id) => [id, members.get(id) ?? []])),
  };
  let verdict: (key: SessionKey) => SessionVerdict = () => 'ok';
  const sessions: SessionChecker = {
    check: async (key) => verdict(key),
    checkMany: async (keys) => keys.map((k) => verdict(k)),
  };
  const hub = new Hub({
    replicaId: 'r1', maxMessageBytes: 4096, maxBufferedBytes: 1 << 20, sendRatePerSec: 10, sendBurst: 30,
    heartbeatMs: 25_000, presenceTtlMs: 30_000, historyPageSize: 100, ...options,
  }, { bySeqs: async () => [], ...messages } as unknown as MessageRepository, bus, createLogger('chat', 'silent'), { control: store, sessions });
  const connect = (uid: number, claims: Partial<ChatTokenClaims> = {}, checkedSince?: number) => {
    const ws = new FakeWs();
    hub.attach(ws as unknown as WebSocket, { uid, sid: `s${uid}`, handle: handle(uid), name: `U${uid}`, role: 'user', iat: 0, exp: 0, ...claims }, 'req', null, checkedSince);
    return ws;
  };
  const commit = (event: NewControlEvent) => {
    events.push({
      id: events.length + 1, kind: event.kind, userId: event.userId ?? null, sessionId: event.sessionId ?? null, roomId: event.roomId ?? null,
      seq: event.seq ?? null, payload: event.payload ?? {}, createdAt: new Date(),
    });
  };
  const control = async (event: NewControlEvent) => {
    await hub.control.caughtUp(); // the cursor starts at the latest event, as on a real start
    commit(event);
    await hub.control.caughtUp();
  };
  const holdControlReads = () => {
    let release!: () => void;
    held = new Promise<void>((r) => (release = r));
    return () => {
      held = null;
      release();
    };
  };
  return {
    hub, connect, published, watched, watchCalls, resubscribe: (lost) => resubscribe(lost), fromPeer: (e) => deliver(e), control, commit, holdControlReads,
    setVerdict: (v) => void (verdict = v), members,
  };
}
