// What each control event does to this replica's sockets (see packages/db/src/control-events.ts for
// the kinds). A page of events is applied strictly in id order; what an event needs from Postgres
// (the changed message, a room's members) is fetched for the whole page first, in two queries.
import type { ControlEvent } from '@parley/db';
import type { Logger } from '@parley/logging';
import { type ChatMessage, type ServerFrame, CloseCode } from '@parley/protocol';
import type { MessageRepository } from '../messages/message-repository.ts';
import type { Connection } from './connection.ts';
import type { ControlStore } from './control-store.ts';
import type { MessageCommands } from './message-commands.ts';
import type { SessionChange } from './session-changes.ts';
import type { Subscriptions } from './subscriptions.ts';

export interface ControlApplierDeps {
  store: ControlStore;
  messages: Pick<MessageRepository, 'bySeqs'>;
  subscriptions: Subscriptions;
  commands: Pick<MessageCommands, 'deliverUpdate'>;
  /** This replica's sockets of one user. */
  userConnections: (userId: number) => Iterable<Connection>;
  allConnections: () => Iterable<Connection>;
  /** A user's or a session's standing changed (ban, role, revoke): cached upgrade checks forget it. */
  sessionsChanged?: (change: SessionChange) => void;
  log: Logger;
}

const messageKey = (roomId: number, seq: number) => `${roomId}:${seq}`;

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export class ControlApplier {
  constructor(private readonly deps: ControlApplierDeps) {}

  /** Apply events (in id order). Rejects only when the prefetch fails (the page is retried whole). */
  async apply(events: ControlEvent[]): Promise<void> {
    const { subscriptions, messages, store } = this.deps;
    // The last event of each changed message in the page: earlier ones would send the same state.
    const lastUpdate = new Map<string, number>();
    const roomsToTell = new Set<number>();
    for (const e of events) {
      if (e.kind === 'message_updated' && e.roomId !== null && e.seq !== null && subscriptions.room(e.roomId)) lastUpdate.set(messageKey(e.roomId, e.seq), e.id);
      if ((e.kind === 'room_archived' || e.kind === 'room_updated') && e.roomId !== null) roomsToTell.add(e.roomId);
    }
    const keys = [...lastUpdate.keys()].map((k) => {
      const [roomId, seq] = k.split(':').map(Number);
      return { roomId: roomId!, seq: seq! };
    });
    const [changed, members] = await Promise.all([messages.bySeqs(keys), store.membersOf([...roomsToTell])]);
    const byKey = new Map<string, ChatMessage>(changed.map((m) => [messageKey(m.roomId, m.seq), m]));
    for (const e of events) {
      try {
        this.applyOne(e, (roomId, seq) => (lastUpdate.get(messageKey(roomId, seq)) === e.id ? byKey.get(messageKey(roomId, seq)) : undefined), members);
      } catch (err) {
        // One event that cannot be applied must not stall the plane for every later one.
        this.deps.log.error({ err, controlEvent: e.id, kind: e.kind }, 'applying a control event failed');
      }
    }
  }

  private applyOne(e: ControlEvent, changedMessage: (roomId: number, seq: number) => ChatMessage | undefined, members: Map<number, number[]>): void {
    const { subscriptions, commands } = this.deps;
    switch (e.kind) {
      case 'user_status': {
        this.deps.sessionsChanged?.({ userId: e.userId, sessionId: null });
        const status = str(e.payload.status);
        if (e.userId === null || status === 'active') return;
        this.closeUser(e.userId, () => true, CloseCode.SessionRevoked, `account ${status ?? 'disabled'}`);
        return;
      }
      case 'user_role': {
        this.deps.sessionsChanged?.({ userId: e.userId, sessionId: null });
        const role = str(e.payload.role);
        // The session is still valid: the client fetches a token with the new role and reconnects.
        if (e.userId !== null) this.closeUser(e.userId, (c) => c.claims.role !== role, CloseCode.TokenInvalid, 'role changed; get a new token');
        return;
      }
      case 'session_revoked': {
        if (e.sessionId === null) return;
        this.deps.sessionsChanged?.({ userId: e.userId, sessionId: e.sessionId });
        const reason = (str(e.payload.reason) ?? 'session revoked').slice(0, 100);
        const conns = e.userId === null ? this.deps.allConnections() : this.deps.userConnections(e.userId);
        for (const conn of [...conns]) if (conn.claims.sid === e.sessionId) conn.close(CloseCode.SessionRevoked, reason);
        return;
      }
      case 'mute': {
        if (e.userId === null) return;
        const until = str(e.payload.until);
        const untilMs = until ? Date.parse(until) : 0;
        subscriptions.muteChanged(e.userId, e.roomId, untilMs, this.deps.userConnections(e.userId));
        const frame = JSON.stringify({ type: 'moderation', room: e.roomId, action: untilMs > Date.now() ? 'muted' : 'unmuted', userId: e.userId, until } satisfies ServerFrame);
        for (const conn of this.deps.allConnections()) if (e.roomId === null || conn.rooms.has(e.roomId)) conn.sendRaw(frame);
        return;
      }
      case 'member_added':
        if (e.userId !== null && e.roomId !== null) this.tellUser(e.userId, { type: 'conversation', room: e.roomId, change: 'added' });
        return;
      case 'member_removed': {
        if (e.userId === null || e.roomId === null) return;
        // Anyone may be in a public room: losing membership there does not end the subscription.
        if (subscriptions.room(e.roomId)?.info.kind !== 'public') subscriptions.accessRemoved(e.roomId, e.userId, this.deps.userConnections(e.userId));
        this.tellUser(e.userId, { type: 'conversation', room: e.roomId, change: 'removed' });
        return;
      }
      case 'room_archived': {
        if (e.roomId === null) return;
        subscriptions.archiveChanged(e.roomId, e.payload.archived === true);
        this.tellMembers(e.roomId, members);
        return;
      }
      case 'room_updated': {
        if (e.roomId === null) return;
        const name = str(e.payload.name);
        const state = subscriptions.room(e.roomId);
        if (state && name) state.info.name = name;
        this.tellMembers(e.roomId, members);
        return;
      }
      case 'message_updated': {
        if (e.roomId === null || e.seq === null) return;
        const message = changedMessage(e.roomId, e.seq);
        if (message) commands.deliverUpdate(message);
        return;
      }
      case 'read':
        if (e.userId !== null && e.roomId !== null && e.seq !== null) this.tellUser(e.userId, { type: 'read', room: e.roomId, seq: e.seq });
        return;
      case 'conversation_hidden':
        // Closed (or reopened) in one tab's sidebar: the user's other tabs and devices re-read the list.
        if (e.userId !== null && e.roomId !== null) this.tellUser(e.userId, { type: 'conversation', room: e.roomId, change: 'updated' });
        return;
    }
  }

  private closeUser(userId: number, which: (conn: Connection) => boolean, code: number, reason: string): void {
    for (const conn of [...this.deps.userConnections(userId)]) if (which(conn)) conn.close(code, reason);
  }

  private tellUser(userId: number, frame: ServerFrame): void {
    const text = JSON.stringify(frame);
    for (const conn of this.deps.userConnections(userId)) conn.sendRaw(text);
  }

  private tellMembers(roomId: number, members: Map<number, number[]>): void {
    const frame = JSON.stringify({ type: 'conversation', room: roomId, change: 'updated' } satisfies ServerFrame);
    for (const userId of members.get(roomId) ?? []) for (const conn of this.deps.userConnections(userId)) conn.sendRaw(frame);
  }
}
