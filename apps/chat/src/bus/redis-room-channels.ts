// Keeps the subscriber connection's room channels in line with the rooms this replica serves: a room's
// channel is subscribed while a local socket is in the room and unsubscribed a while after the last one
// left (the linger absorbs leave-and-rejoin churn, such as a client reconnecting). Changes made in one
// turn of the event loop go out together, as few SSUBSCRIBE/SUNSUBSCRIBE commands of up to CHUNK
// channels each (written back to back, no round trip between them): a replica with 10k rooms
// resubscribes after a reconnect with 10 commands, not 10k round trips.
//
// Races: Redis applies the commands of one connection in order, so a join during an unsubscribe ends
// subscribed (SUNSUBSCRIBE, then SSUBSCRIBE). Events published before a subscription is acknowledged
// are not received: `confirmed` names the rooms whose subscription just took effect, and the receiver
// reconciles them with Postgres (the seq-gap repair covers the rest).
import type { Redis } from 'ioredis';
import type { Logger } from '@parley/logging';
import { roomChannel } from './routes.ts';

const CHUNK = 1_000;
/** Longest a watch waits for its subscription before resolving anyway (Redis slow or away). */
const LIVE_WAIT_MS = 2_000;

export class RoomChannels {
  /** Rooms with a local socket. */
  private readonly watched = new Set<number>();
  /** Rooms whose subscription Redis acknowledged on the current connection. */
  private readonly live = new Set<number>();
  /** Rooms unwatched lately whose channels stay subscribed until their timer fires. */
  private readonly lingering = new Map<number, NodeJS.Timeout>();
  /** Rooms whose subscription may differ from what `watched` wants. */
  private dirty = new Set<number>();
  private flushScheduled = false;
  /** Watches waiting for their room's subscription to take effect. */
  private readonly waiting = new Map<number, Array<() => void>>();

  constructor(
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly lingerMs: number,
    /** The subscriptions of these watched rooms are in effect: events before it may be lost. */
    private readonly confirmed: (rooms: number[]) => void,
    private readonly log: Logger,
  ) {}

  /** Resolves once the room's subscription is in effect, or after LIVE_WAIT_MS, or while disconnected. */
  watch(roomId: number): Promise<void> {
    const timer = this.lingering.get(roomId);
    if (timer) {
      clearTimeout(timer);
      this.lingering.delete(roomId);
    }
    this.watched.add(roomId);
    this.markDirty(roomId);
    return new Promise<void>((resolve) => {
      let list = this.waiting.get(roomId);
      if (!list) this.waiting.set(roomId, (list = []));
      const wait = setTimeout(done, LIVE_WAIT_MS);
      wait.unref();
      function done(): void {
        clearTimeout(wait);
        resolve();
      }
      list.push(done);
    });
  }

  private resolveWaiting(rooms: Iterable<number>): void {
    for (const roomId of rooms) {
      const list = this.waiting.get(roomId);
      if (!list) continue;
      this.waiting.delete(roomId);
      for (const done of list) done();
    }
  }

  unwatch(roomId: number): void {
    if (!this.watched.delete(roomId)) return;
    if (this.lingerMs <= 0) return this.markDirty(roomId);
    const timer = setTimeout(() => {
      this.lingering.delete(roomId);
      this.markDirty(roomId);
    }, this.lingerMs);
    timer.unref();
    this.lingering.set(roomId, timer);
  }

  /** Whether events of the room are wanted (a lingering room's are dropped undecoded). */
  wants(roomId: number): boolean {
    return this.watched.has(roomId);
  }

  get size(): number {
    return this.watched.size;
  }

  /** A (re)connected subscriber holds no room channels: subscribe every watched room again. */
  connected(): void {
    this.live.clear();
    for (const roomId of this.watched) this.dirty.add(roomId);
    this.scheduleFlush();
  }

  disconnected(): void {
    this.live.clear();
    // No join waits for a subscription that needs a reconnect first: the reconnect's repair covers them.
    this.resolveWaiting([...this.waiting.keys()]);
  }

  close(): void {
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    this.resolveWaiting([...this.waiting.keys()]);
  }

  private markDirty(roomId: number): void {
    this.dirty.add(roomId);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    // Not connected: `connected()` subscribes everything watched once the connection is ready.
    if (this.sub.status !== 'ready') return this.resolveWaiting([...this.dirty]);
    const subscribe: number[] = [];
    const unsubscribe: number[] = [];
    const alreadyLive: number[] = [];
    for (const roomId of this.dirty) {
      if (this.watched.has(roomId)) {
        if (this.live.has(roomId)) alreadyLive.push(roomId);
        else subscribe.push(roomId);
      } else if (this.live.has(roomId) && !this.lingering.has(roomId)) {
        this.live.delete(roomId);
        unsubscribe.push(roomId);
      }
    }
    this.dirty = new Set();
    for (let i = 0; i < unsubscribe.length; i += CHUNK) {
      const chunk = unsubscribe.slice(i, i + CHUNK);
      this.sub.sunsubscribe(...chunk.map((r) => this.channel(r))).catch((err: Error) => this.failed('sunsubscribe', err));
    }
    for (let i = 0; i < subscribe.length; i += CHUNK) {
      const chunk = subscribe.slice(i, i + CHUNK);
      this.sub.ssubscribe(...chunk.map((r) => this.channel(r))).then(() => this.acknowledged(chunk), (err: Error) => {
        this.failed('ssubscribe', err);
        // Refused on a live connection: try again shortly (a reconnect redoes it anyway).
        setTimeout(() => {
          for (const roomId of chunk) this.markDirty(roomId);
        }, 1_000).unref();
      });
    }
    // Rejoined while lingering: never unsubscribed, but the room was closed here meanwhile.
    if (alreadyLive.length) {
      this.confirmed(alreadyLive);
      this.resolveWaiting(alreadyLive);
    }
  }

  private acknowledged(rooms: number[]): void {
    const wanted: number[] = [];
    for (const roomId of rooms) {
      this.live.add(roomId);
      if (this.watched.has(roomId)) wanted.push(roomId);
      else this.markDirty(roomId); // left while subscribing: unsubscribe (after its linger)
    }
    if (wanted.length) this.confirmed(wanted);
    this.resolveWaiting(wanted);
  }

  private failed(command: string, err: Error): void {
    // A command cut by a disconnect is redone by `connected()`; anything else is worth a line.
    if (this.sub.status === 'ready') this.log.error({ err: err.message, command }, 'redis room channel command failed');
  }

  private channel(roomId: number): string {
    return `${this.prefix}${roomChannel(roomId)}`;
  }
}
