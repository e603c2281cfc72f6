// The chat side of the durable control plane: applies control events from Postgres strictly in id
// order. It polls `id > cursor` on a timer and whenever a doorbell rings (NOTIFY parley_control, a
// reconnect of the LISTEN connection or of the bus, /internal/control/poke), so a lost notification
// delays an event by at most one poll period but never loses it. The cursor starts at the latest
// event id when the replica starts (it has no sockets before that: upgrades wait for `ready`).
import type { Logger } from '@parley/logging';
import type { ControlApplier } from './control-applier.ts';
import type { ControlStore } from './control-store.ts';

/** Events read per query. */
const PAGE = 500;

export interface ControlPlaneStats {
  controlCursor: number;
  controlEventsApplied: number;
  /** Commit-to-applied delay of the latest event, and the largest since start (ms). */
  controlLastDelayMs: number;
  controlMaxDelayMs: number;
}

export class ControlPlane {
  private cursor: number | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private failures = 0;
  private runsStarted = 0;
  /** Callers of caughtUpSinceNow, each waiting for the end of run number `run`. */
  private waiters: Array<{ run: number; done: (ok: boolean) => void }> = [];
  readonly stats: ControlPlaneStats = { controlCursor: 0, controlEventsApplied: 0, controlLastDelayMs: 0, controlMaxDelayMs: 0 };

  constructor(
    private readonly store: ControlStore,
    private readonly applier: ControlApplier,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  /** True once the cursor is known: sockets accepted from now on miss no event. */
  get ready(): boolean {
    return this.cursor !== null;
  }

  start(): void {
    this.timer ??= setInterval(() => this.poke(), this.pollMs);
    this.timer.unref();
    this.poke();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Read and apply new events now (coalesced: one run at a time, one more if poked meanwhile). */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /** Resolves after a full run that started after this call (tests, and the doorbell endpoint). */
  async caughtUp(): Promise<void> {
    await this.idle();
    this.poke();
    await this.idle();
  }

  /**
   * Resolves once a run that began after this call has ended: true if it read every event (so all those
   * committed before the call are applied), false if reading failed. Concurrent callers share runs, and a
   * steady stream of callers never starves one (it waits for at most the current run and the next).
   */
  caughtUpSinceNow(): Promise<boolean> {
    return new Promise((done) => {
      this.waiters.push({ run: this.runsStarted + 1, done });
      this.poke();
    });
  }

  /** Resolves when no run is in progress. */
  private async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    const run = ++this.runsStarted;
    try {
      if (this.cursor === null) {
        this.cursor = await this.store.lastId();
        this.stats.controlCursor = this.cursor;
        this.log.info({ cursor: this.cursor }, 'control plane ready');
      }
      for (;;) {
        const events = await this.store.eventsAfter(this.cursor, PAGE);
        if (!events.length) break;
        await this.applier.apply(events);
        const now = Date.now();
        for (const e of events) {
          const delayMs = Math.max(0, now - e.createdAt.getTime());
          this.stats.controlLastDelayMs = delayMs;
          this.stats.controlMaxDelayMs = Math.max(this.stats.controlMaxDelayMs, delayMs);
          if (e.kind !== 'read' && e.kind !== 'message_updated') this.log.info({ controlEvent: e.id, kind: e.kind, userId: e.userId, roomId: e.roomId, delayMs }, 'control event applied');
        }
        this.cursor = events.at(-1)!.id;
        this.stats.controlCursor = this.cursor;
        this.stats.controlEventsApplied += events.length;
        if (events.length < PAGE) break;
      }
      if (this.failing) this.log.info({ failures: this.failures }, 'control events readable again');
      this.failing = false;
      this.failures = 0;
    } catch (err) {
      // Said once per outage (with a count when it ends), not once per poll.
      if (!this.failing) this.log.warn({ err: (err as Error).message }, 'reading control events failed; retrying every poll');
      this.failing = true;
      this.failures++;
    }
    if (this.waiters.length) {
      const ok = !this.failing;
      const waiting = this.waiters;
      this.waiters = waiting.filter((w) => w.run > run);
      for (const w of waiting) if (w.run <= run) w.done(ok);
    }
  }
}
