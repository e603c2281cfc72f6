// Presence between this replica's rooms and its peers: local joins/leaves are announced (coalesced),
// peers' announcements are applied, and each room's sockets get coalesced presence frames.
import type { BusEventOf } from '../bus/index.ts';
import { Presence, PresencePusher } from './presence.ts';
import type { RoomState } from './room-state.ts';

export class PresenceGlue {
  readonly presence: Presence;
  /** Coalesced, capped presence pushes to local sockets (see PresencePusher). */
  private readonly pusher: PresencePusher;
  private readonly pending = new Set<number>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly replicaId: string,
    ttlMs: number,
    /** The room's local state, if it has sockets here. */
    private readonly room: (roomId: number) => RoomState | undefined,
    private readonly publish: (event: BusEventOf<'presence'>) => void,
  ) {
    this.presence = new Presence(ttlMs);
    this.pusher = new PresencePusher(this.presence, (roomId, frame) => this.send(roomId, frame));
  }

  /** The current presence frame of a room (for a joiner). */
  current(roomId: number): Buffer {
    return this.pusher.current(roomId);
  }

  /** A user's first connection here joined the room (true: the room's local set changed). */
  joined(roomId: number, user: Parameters<Presence['add']>[1]): void {
    if (this.presence.add(roomId, user)) this.changed(roomId);
  }

  left(roomId: number, userId: number): void {
    if (this.presence.remove(roomId, userId)) this.changed(roomId);
  }

  private changed(roomId: number): void {
    this.push(roomId);
    this.pending.add(roomId);
    // Coalesce announcements: a burst of joins after a deploy becomes one event per 100 ms.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      const rooms = [...this.pending];
      this.pending.clear();
      this.publish({ k: 'presence', replica: this.replicaId, rooms: this.presence.localSnapshot(rooms), full: false, at: Date.now() });
    }, 100);
  }

  /** The room's presence changed (here or on a peer): its sockets get one coalesced frame soon. */
  private push(roomId: number): void {
    if (this.room(roomId)) this.pusher.changed(roomId);
    else this.pusher.forget(roomId); // no sockets here: a later joiner gets a fresh frame
  }

  private send(roomId: number, frame: Buffer): boolean {
    const state = this.room(roomId);
    if (!state) return false;
    state.broadcast(frame); // chunked, in order with the room's messages
    return true;
  }

  announce(full: boolean): void {
    this.publish({ k: 'presence', replica: this.replicaId, rooms: this.presence.localSnapshot(), full, at: Date.now() });
  }

  applyRemote(event: BusEventOf<'presence'>): void {
    if (event.replica === this.replicaId) return;
    for (const roomId of this.presence.applyRemote(event.replica, event.rooms, event.full)) this.push(roomId);
  }

  dropReplica(replica: string): void {
    for (const roomId of this.presence.dropReplica(replica)) this.push(roomId);
  }

  expire(): void {
    for (const roomId of this.presence.expire()) this.push(roomId);
  }

  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.pusher.stop();
  }
}
