// This replica's side of the fan-out bus: publishes (a failed publish is logged, never thrown: what
// it carried is in Postgres and peers repair from there), dispatches validated events from peers, and
// repairs what pub/sub lost by comparing each active room with Postgres (on a timer, and for the rooms
// whose channels were (re)subscribed, after each subscription takes effect).
import type { Logger } from '@parley/logging';
import type { Bus, BusEvent, BusEventOf } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import type { HubCounters } from './replica-stats.ts';
import type { Subscriptions } from './subscriptions.ts';

/** What the hub does with each event from a peer (the bridge has dropped this replica's own echoes). */
export interface ClusterHandlers {
  typing(event: BusEventOf<'typing'>): void;
  presence(event: BusEventOf<'presence'>): void;
  presenceDiff(event: BusEventOf<'presence_diff'>): void;
  replica(event: BusEventOf<'replica'>): void;
  /** A peer (re)started and asks everyone to announce themselves. */
  sync(): void;
  bye(replica: string): void;
  /** The subscription was re-established: events in between may be lost. */
  resubscribed(): void;
}

export class ClusterBridge {
  constructor(
    private readonly replicaId: string,
    private readonly bus: Bus,
    private readonly subscriptions: Subscriptions,
    private readonly messages: MessageRepository,
    private readonly counters: HubCounters,
    private readonly log: Logger,
  ) {}

  /** Start receiving: events go to `handlers`. */
  listen(handlers: ClusterHandlers): void {
    this.bus.onEvent((event) => this.dispatch(event, handlers));
    this.bus.onResubscribe((lost) => {
      if (lost.replicaWide) this.log.info('fan-out resubscribed: reconciling rooms and presence with Postgres and peers');
      // Only the rooms whose channels were (re)subscribed: a room joined here is repaired on its own.
      const rooms = lost.rooms === 'all' ? undefined : lost.rooms;
      if (rooms === undefined || rooms.length) void this.reconcileRooms(rooms);
      if (lost.replicaWide) handlers.resubscribed();
    });
  }

  async publish(event: BusEvent): Promise<void> {
    try {
      await this.bus.publish(event);
    } catch (err) {
      // Messages are already committed: peers repair from Postgres on their next reconcile.
      this.log.warn({ err: (err as Error).message, kind: event.k }, 'fan-out publish failed');
    }
  }

  private dispatch(event: BusEvent, handlers: ClusterHandlers): void {
    const self = this.replicaId;
    switch (event.k) {
      case 'msgs':
        if (event.from === self) return; // delivered locally already (buses usually drop it undecoded)
        for (const message of event.messages) this.subscriptions.room(message.roomId)?.committed(message.seq, message, 'remote');
        return;
      case 'tip':
        this.subscriptions.room(event.room)?.committed(event.seq, null);
        return;
      case 'typing':
        if (event.replica === self) return;
        return handlers.typing(event);
      case 'presence':
        if (event.replica === self) return;
        return handlers.presence(event);
      case 'presence_diff':
        if (event.replica === self) return;
        return handlers.presenceDiff(event);
      case 'replica':
        if (event.replica === self) return;
        return handlers.replica(event);
      case 'sync':
        if (event.from === self) return;
        return handlers.sync();
      case 'bye':
        if (event.replica === self) return;
        return handlers.bye(event.replica);
    }
  }

  /** Compare each active room (or those of `only` still open) with Postgres and fetch what pub/sub did not bring. */
  async reconcileRooms(only?: number[]): Promise<void> {
    const ids = only ? only.filter((id) => this.subscriptions.room(id) !== undefined) : this.subscriptions.roomIds();
    if (!ids.length) return;
    try {
      const lastSeqs = await this.messages.lastSeqs(ids);
      for (const [id, lastSeq] of lastSeqs) {
        const state = this.subscriptions.room(id);
        if (state && lastSeq > state.deliveredSeq) {
          this.counters.gapRepairs++;
          state.reconcile(lastSeq);
        }
      }
      if (this.reconcileFailures) {
        this.log.info({ failures: this.reconcileFailures }, 'room reconcile works again');
        this.reconcileFailures = 0;
      }
    } catch (err) {
      // Once per outage, not every period (the database's own status line says when it is back).
      if (this.reconcileFailures++ === 0) this.log.warn({ err: (err as Error).message }, 'room reconcile failed; retrying every period');
    }
  }

  /** Consecutive failed reconciles (a Postgres outage): logged when it starts and when it ends. */
  private reconcileFailures = 0;
}
