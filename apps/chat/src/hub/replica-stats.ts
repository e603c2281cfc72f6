// What this replica reports about itself and knows about its peers: counters, messages stored per
// minute, and the peers' latest announcements (for /internal/stats and the admin dashboard).
import type { BusEventOf } from '../bus/index.ts';

/** Counters for stats and metrics. */
export interface HubCounters {
  messagesStored: number;
  framesRejected: number;
  slowConsumersClosed: number;
  deadPeersDropped: number;
  gapRepairs: number;
}

export type ReplicaAnnouncement = Omit<BusEventOf<'replica'>, 'k'>;

/** Messages stored per minute, over a sliding window of 60 one-second buckets. */
export class RateWindow {
  private readonly buckets = new Array<number>(60).fill(0);
  private second = Math.floor(Date.now() / 1000);

  private advance(now: number): void {
    const s = Math.floor(now / 1000);
    for (let t = Math.max(this.second + 1, s - 59); t <= s; t++) this.buckets[t % 60] = 0;
    this.second = Math.max(this.second, s);
  }

  add(n = 1, now = Date.now()): void {
    this.advance(now);
    this.buckets[this.second % 60]! += n;
  }

  perMinute(now = Date.now()): number {
    this.advance(now);
    return this.buckets.reduce((a, b) => a + b, 0);
  }
}

export class ReplicaStats {
  readonly counters: HubCounters = { messagesStored: 0, framesRejected: 0, slowConsumersClosed: 0, deadPeersDropped: 0, gapRepairs: 0 };
  readonly storedRate = new RateWindow();
  readonly startedAt = new Date().toISOString();
  private readonly remote = new Map<string, Omit<ReplicaAnnouncement, 'replica'>>();

  constructor(private readonly replicaId: string, private readonly local: () => { connections: number; rooms: number; draining: boolean }) {}

  messageStored(): void {
    this.counters.messagesStored++;
    this.storedRate.add();
  }

  self(): ReplicaAnnouncement {
    const { connections, rooms, draining } = this.local();
    return { replica: this.replicaId, connections, rooms, startedAt: this.startedAt, at: Date.now(), draining, messagesPerMinute: this.storedRate.perMinute() };
  }

  peerAnnounced(event: BusEventOf<'replica'>): void {
    if (event.replica === this.replicaId) return;
    const { k: _k, replica, ...rest } = event;
    this.remote.set(replica, rest);
  }

  peerLeft(replica: string): void {
    this.remote.delete(replica);
  }

  /** Forget peers that stopped announcing (dead without a goodbye). */
  expire(ttlMs: number, now = Date.now()): void {
    for (const [id, r] of this.remote) if (r.at + ttlMs < now) this.remote.delete(id);
  }

  /** This replica and the peers it knows, sorted by name. */
  replicas(): ReplicaAnnouncement[] {
    return [this.self(), ...[...this.remote.entries()].map(([replica, r]) => ({ ...r, replica }))].sort((a, b) => a.replica.localeCompare(b.replica));
  }
}
