// One room as seen by this replica: delivers committed messages to local subscribers strictly in seq
// order. Pub/sub may drop or reorder events, so out-of-order arrivals wait in `pending` while the gap
// is fetched from Postgres (the source of truth).
import type { ChatMessage, RoomInfo } from '@parley/protocol';

export interface Subscriber {
  readonly connId: string;
  /** True while the subscriber replays its backlog; live messages are buffered meanwhile. */
  catchingUp: boolean;
  buffer: ChatMessage[];
  /** Send an already-serialized frame. */
  sendRaw(frame: string): void;
}

export interface GapSource {
  after(roomId: number, afterSeq: number, limit: number, uptoSeq?: number): Promise<ChatMessage[]>;
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
    if (!this.pending.get(seq)) this.pending.set(seq, message);
    this.repair();
  }

  /** The database says the room is at `lastSeq`: fetch anything we have not delivered. */
  reconcile(lastSeq: number): void {
    if (lastSeq > this.deliveredSeq) this.committed(lastSeq, null);
  }

  private deliver(message: ChatMessage): void {
    this.deliveredSeq = message.seq;
    const frame = JSON.stringify({ type: 'message', room: this.info.id, message });
    for (const sub of this.subs.values()) {
      if (sub.catchingUp) sub.buffer.push(message);
      else sub.sendRaw(frame);
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
          const page = await this.source.after(this.info.id, this.deliveredSeq, 500, target);
          if (!page.length) break; // not visible yet; the next event or reconcile retries
          for (const message of page) {
            if (message.seq === this.deliveredSeq + 1) this.deliver(message);
          }
          this.drainPending();
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
