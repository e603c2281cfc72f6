// One room as seen by this replica: delivers committed messages to local subscribers strictly in seq
// order. Pub/sub may drop or reorder events, so out-of-order arrivals wait in `pending` while the gap
// is fetched from Postgres (the source of truth). Each frame is serialized once per room, not per socket.
import type { ChatMessage, RoomInfo } from '@parley/protocol';

/** A frame waiting for a subscriber that is still replaying its backlog (seq null: not a message). */
export interface BufferedFrame {
  seq: number | null;
  frame: string;
}

export interface Subscriber {
  readonly connId: string;
  /** True while the subscriber replays its backlog; live frames are buffered meanwhile. */
  catchingUp: boolean;
  buffer: BufferedFrame[];
  /** Highest seq sent to this subscriber: nothing at or below it is sent again (no duplicates at the seam). */
  seq: number;
  /** Send an already-serialized frame. */
  sendRaw(frame: string): void;
  /** The buffer of a catching-up subscriber overflowed: it is closed (and will resume). */
  overflow(): void;
}

export interface GapSource {
  after(roomId: number, afterSeq: number, limit: number, uptoSeq?: number): Promise<ChatMessage[]>;
}

/** Most live frames held for one catching-up subscriber before it is closed as a slow consumer. */
export const MAX_CATCHUP_BUFFER = 10_000;
/** Most out-of-order messages kept in memory per room; beyond it only seqs are kept (refetched). */
const MAX_PENDING_BODIES = 5_000;

export function messageFrame(roomId: number, message: ChatMessage): string {
  return JSON.stringify({ type: 'message', room: roomId, message });
}

export class RoomState {
  readonly subs = new Map<string, Subscriber>();
  private readonly pending = new Map<number, ChatMessage | null>();
  private repairing: Promise<void> | null = null;

  constructor(
    readonly info: RoomInfo,
    /** Highest seq delivered to local subscribers. */
    public deliveredSeq: number,
    private readonly source: GapSource,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * A message (or, with `message` null, only its seq) is known to be committed. Deliver it now if it is
   * next, otherwise remember it and repair the gap.
   */
  committed(seq: number, message: ChatMessage | null): void {
    if (seq <= this.deliveredSeq) return;
    if (seq === this.deliveredSeq + 1 && message) {
      this.deliver(message);
      this.drainPending();
      if (this.pending.size) this.repair();
      return;
    }
    if (!this.pending.get(seq)) this.pending.set(seq, this.pending.size < MAX_PENDING_BODIES ? message : null);
    this.repair();
  }

  /** The database says the room is at `lastSeq`: fetch anything we have not delivered. */
  reconcile(lastSeq: number): void {
    if (lastSeq > this.deliveredSeq) this.committed(lastSeq, null);
  }

  /** Send a non-message frame (edit, presence, typing) to every subscriber, in order with messages. */
  broadcast(frame: string): void {
    for (const sub of this.subs.values()) {
      if (sub.catchingUp) this.buffer(sub, { seq: null, frame });
      else sub.sendRaw(frame);
    }
  }

  private buffer(sub: Subscriber, item: BufferedFrame): void {
    if (sub.buffer.length >= MAX_CATCHUP_BUFFER) {
      sub.buffer = [];
      sub.overflow();
      return;
    }
    sub.buffer.push(item);
  }

  private deliver(message: ChatMessage): void {
    this.deliveredSeq = message.seq;
    let frame: string | null = null;
    for (const sub of this.subs.values()) {
      if (message.seq <= sub.seq) continue; // the subscriber already has it (from its backlog)
      frame ??= messageFrame(this.info.id, message);
      if (sub.catchingUp) {
        this.buffer(sub, { seq: message.seq, frame });
      } else {
        sub.seq = message.seq;
        sub.sendRaw(frame);
      }
    }
  }

  private drainPending(): void {
    for (;;) {
      const next = this.pending.get(this.deliveredSeq + 1);
      if (!next) break;
      this.pending.delete(next.seq);
      this.deliver(next);
    }
    for (const seq of this.pending.keys()) if (seq <= this.deliveredSeq) this.pending.delete(seq);
  }

  private repair(): void {
    if (this.repairing) return;
    this.repairing = (async () => {
      try {
        while (this.pending.size) {
          const target = Math.max(...this.pending.keys());
          const before = this.deliveredSeq;
          const page = await this.source.after(this.info.id, this.deliveredSeq, 500, target);
          for (const message of page) {
            if (message.seq === this.deliveredSeq + 1) this.deliver(message);
          }
          this.drainPending();
          // Not visible yet (or a hole that cannot be): stop; the next event or reconcile retries.
          if (this.deliveredSeq === before) break;
        }
      } catch (err) {
        this.onError(err);
      } finally {
        this.repairing = null;
      }
    })();
  }

  /** Resolves when no repair is running (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.repairing) await this.repairing;
  }
}
