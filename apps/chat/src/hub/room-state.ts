// One room as seen by this replica: delivers committed messages to local subscribers strictly in seq
// order. Pub/sub may drop or reorder events, so out-of-order arrivals wait in `pending` while the gap
// is fetched from Postgres (the source of truth). Each frame is serialized and UTF-8 encoded once per
// room (messages: once per protocol version in use, see frames-v2.ts), not per socket.
//
// Delivery goes through one FIFO queue per room, drained in chunks of about DELIVERY_CHUNK sends per
// event-loop turn (the first chunk synchronously), so a room with 10,000 subscribers does not block
// the loop for the whole fan-out. Every frame reaches every subscriber before the next frame is
// started, so no frame can overtake an earlier one for any subscriber. The subscriber map is walked
// with a live iterator: a subscriber added while a frame is on its way still gets it (into its
// catch-up buffer), which keeps the backlog/live seam argument of the hub's replay intact.
import type { ChatMessage, RoomInfo, ServerFrame } from '@parley/protocol';
import { SharedMessage } from './frames-v2.ts';

/** A serialized frame: a string, or (for frames sent to many sockets) its UTF-8 bytes, sent as text. */
export type Frame = string | Buffer;

/** A frame waiting for a subscriber that is still replaying its backlog (seq null: not a message). */
export interface BufferedFrame {
  seq: number | null;
  frame: Frame | SharedMessage;
}

export interface Subscriber {
  readonly connId: string;
  /** True while the subscriber replays its backlog; live frames are buffered meanwhile. */
  catchingUp: boolean;
  buffer: BufferedFrame[];
  /** Highest seq sent to this subscriber: nothing at or below it is sent again (no duplicates at the seam). */
  seq: number;
  /** Send an already-serialized frame (a Buffer goes out as a text frame). */
  sendRaw(frame: Frame): void;
  /** Send a message in the socket's protocol version (without it: sendRaw of the version 1 bytes). */
  sendShared?(frame: SharedMessage): void;
  /** The buffer of a catching-up subscriber overflowed: it is closed (and will resume). */
  overflow(): void;
  /** The socket applies presence diffs (joined with `presence: 'diff'`); otherwise it gets full lists. */
  readonly presenceDiffs?: boolean;
}

export interface GapSource {
  after(roomId: number, afterSeq: number, limit: number, uptoSeq?: number): Promise<ChatMessage[]>;
}

/** Most live frames held for one catching-up subscriber before it is closed as a slow consumer. */
export const MAX_CATCHUP_BUFFER = 10_000;
/** Most out-of-order messages kept in memory per room; beyond it only seqs are kept (refetched). */
const MAX_PENDING_BODIES = 5_000;
/** Sends per event-loop turn of a room's delivery (grows when the queue backs up, see drainQueue). */
export const DELIVERY_CHUNK = 1_000;

/** A frame encoded once for every socket it goes to (sent with sendRaw). */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/** A message goes out in the subscriber's protocol version; other frames as they are. */
function sendTo(sub: Subscriber, frame: Buffer | SharedMessage): void {
  if (!(frame instanceof SharedMessage)) sub.sendRaw(frame);
  else if (sub.sendShared) sub.sendShared(frame);
  else sub.sendRaw(frame.v1());
}

/** A frame on its way to the room's subscribers; `cursor` walks the subscriber map (live). */
interface Outgoing {
  seq: number | null;
  frame: Buffer | SharedMessage;
  cursor: Iterator<Subscriber> | null;
  /** Only for the subscribers it accepts (non-message frames only); all when absent. */
  to?: (sub: Subscriber) => boolean;
  /** For fan-out latency: the message's created_at (ms) and how it reached this replica. */
  createdAt?: number;
  path?: FanoutPath;
}

/** How a committed message reached this replica: committed here, via the bus, or fetched from Postgres. */
export type FanoutPath = 'local' | 'remote' | 'repair';

export class RoomState {
  readonly subs = new Map<string, Subscriber>();
  private readonly pending = new Map<number, ChatMessage | null>();
  private repairing: Promise<void> | null = null;
  /** Frames not yet at every subscriber, oldest first. */
  private readonly queue: Outgoing[] = [];
  private queueHead = 0;
  /** Delivery is running or scheduled (setImmediate): new frames wait behind the queued ones. */
  private delivering = false;
  private drained: Array<() => void> = [];
  /** Resolves once the bus brings this room's events (see Bus.watchRoom); joins replay after it. */
  live: Promise<void> = Promise.resolve();

  constructor(
    readonly info: RoomInfo,
    /** Highest seq delivered to local subscribers. */
    public deliveredSeq: number,
    private readonly source: GapSource,
    private readonly onError: (err: unknown) => void,
    /** Told when a message reached every local subscriber: its path and seconds since its created_at. */
    private readonly onFanout?: (path: FanoutPath, seconds: number) => void,
  ) {}

  /**
   * A message (or, with `message` null, only its seq) is known to be committed. Deliver it now if it is
   * next, otherwise remember it and repair the gap.
   */
  committed(seq: number, message: ChatMessage | null, path: FanoutPath = 'local'): void {
    if (seq <= this.deliveredSeq) return;
    if (seq === this.deliveredSeq + 1 && message) {
      this.deliver(message, path);
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

  /** Send a non-message frame (edit, presence, archive) to every subscriber, in order with messages. */
  broadcast(frame: Frame | SharedMessage, to?: (sub: Subscriber) => boolean): void {
    this.enqueue(null, typeof frame === 'string' ? Buffer.from(frame) : frame, to && { to });
  }

  /** Frames queued for delivery that have not reached every subscriber yet. */
  get queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  private buffer(sub: Subscriber, item: BufferedFrame): void {
    if (sub.buffer.length >= MAX_CATCHUP_BUFFER) {
      sub.buffer = [];
      sub.overflow();
      return;
    }
    sub.buffer.push(item);
  }

  private deliver(message: ChatMessage, path: FanoutPath = 'repair'): void {
    this.deliveredSeq = message.seq;
    if (!this.subs.size) return;
    this.enqueue(message.seq, new SharedMessage('message', this.info.id, message), this.onFanout ? { createdAt: Date.parse(message.createdAt), path } : undefined);
  }

  private enqueue(seq: number | null, frame: Buffer | SharedMessage, fanout?: { createdAt?: number; path?: FanoutPath; to?: (sub: Subscriber) => boolean }): void {
    this.queue.push({ seq, frame, cursor: null, ...fanout });
    if (!this.delivering) this.drainQueue();
  }

  /** Deliver queued frames, up to a budget of sends; schedules itself for the rest. */
  private drainQueue(): void {
    this.delivering = true;
    // A backed-up queue gets a bigger budget per turn, so delivery keeps up with a busy room.
    let budget = DELIVERY_CHUNK * Math.max(1, Math.ceil(this.queuedFrames / 16));
    while (this.queueHead < this.queue.length) {
      const item = this.queue[this.queueHead]!;
      item.cursor ??= this.subs.values();
      for (;;) {
        if (budget <= 0) {
          setImmediate(() => this.drainQueue());
          return;
        }
        const next = item.cursor.next();
        if (next.done) break;
        budget--;
        try {
          this.sendTo(next.value, item);
        } catch (err) {
          this.onError(err); // one broken socket must not stall the room
        }
      }
      if (item.path && Number.isFinite(item.createdAt)) this.onFanout?.(item.path, Math.max(0, Date.now() - item.createdAt!) / 1000);
      this.queue[this.queueHead++] = undefined as unknown as Outgoing; // release the frame
      if (this.queueHead >= 1_024 || this.queueHead === this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
    }
    this.delivering = false;
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private sendTo(sub: Subscriber, item: Outgoing): void {
    if (item.seq === null) {
      if (item.to && !item.to(sub)) return;
      if (sub.catchingUp) this.buffer(sub, { seq: null, frame: item.frame });
      else sendTo(sub, item.frame);
      return;
    }
    if (item.seq <= sub.seq) return; // the subscriber already has it (from its backlog)
    if (sub.catchingUp) {
      this.buffer(sub, { seq: item.seq, frame: item.frame });
    } else {
      sub.seq = item.seq;
      sendTo(sub, item.frame);
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

  /** Resolves when no repair is running and every queued frame reached every subscriber (tests and shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      if (this.repairing) await this.repairing;
      else if (this.queuedFrames) await new Promise<void>((r) => this.drained.push(r));
      else return;
    }
  }
}
