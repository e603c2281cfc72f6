// What admin asks of chat through the internal API (kick, mute, member removal, archive, moderator
// delete): applied here and relayed to every replica over the bus.
import type { ChatTokenClaims } from '@parley/chat-token';
import { type ChatMessage, CloseCode } from '@parley/protocol';
import type { BusEvent, BusEventOf } from '../bus/index.ts';
import type { MessageRepository } from '../messages/message-repository.ts';
import type { Connection } from './connection.ts';
import type { MessageCommands } from './message-commands.ts';
import type { Subscriptions } from './subscriptions.ts';

export interface InternalCommandDeps {
  replicaId: string;
  /** How long revoked sessions are remembered: at least the chat token lifetime. */
  revocationMemoryMs: number;
  connections: () => Iterable<Connection>;
  messages: MessageRepository;
  subscriptions: Subscriptions;
  commands: MessageCommands;
  /** Publish to peers; a failure reaches the caller (the HTTP request fails). */
  publish: (event: BusEvent) => Promise<void>;
}

export class InternalCommands {
  private readonly revokedSessions = new Map<string, number>();
  private readonly revokedUsers = new Map<number, number>();

  constructor(private readonly deps: InternalCommandDeps) {}

  /** True when a token for this session/user must be refused (revoked after the token was issued). */
  isRevoked(claims: ChatTokenClaims): boolean {
    const now = Date.now();
    const s = this.revokedSessions.get(claims.sid);
    if (s !== undefined && s > now) return true;
    const u = this.revokedUsers.get(claims.uid);
    return u !== undefined && u > now;
  }

  expire(now = Date.now()): void {
    for (const [sid, until] of this.revokedSessions) if (until < now) this.revokedSessions.delete(sid);
    for (const [uid, until] of this.revokedUsers) if (until < now) this.revokedUsers.delete(uid);
  }

  applyKick(event: BusEventOf<'kick'>): void {
    if (event.sessionId) this.revokedSessions.set(event.sessionId, event.until);
    if (event.userId !== undefined) this.revokedUsers.set(event.userId, event.until);
    for (const conn of this.deps.connections()) {
      if ((event.sessionId && conn.claims.sid === event.sessionId) || (event.userId !== undefined && conn.user.id === event.userId)) {
        conn.close(CloseCode.SessionRevoked, event.reason.slice(0, 100));
      }
    }
  }

  applyModeration(event: BusEventOf<'mod'>): void {
    const until = event.until ? Date.parse(event.until) : 0;
    const frame = JSON.stringify({ type: 'moderation', room: event.room, action: event.action, userId: event.userId, until: event.until });
    for (const conn of this.deps.connections()) {
      if (conn.user.id === event.userId) {
        for (const joined of conn.rooms.values()) {
          if (event.room === null || joined.roomId === event.room) joined.mutedUntil = event.action === 'muted' ? until : 0;
        }
      }
      if (event.room === null || conn.rooms.has(event.room)) conn.sendRaw(frame);
    }
  }

  applyMembership(event: BusEventOf<'member'>): void {
    this.deps.subscriptions.accessRemoved(event.room, event.userId, this.deps.connections());
  }

  applyArchived(event: BusEventOf<'archived'>): void {
    this.deps.subscriptions.archiveChanged(event.room, event.archived);
  }

  async kick(target: { userId?: number; sessionId?: string }, reason: string): Promise<void> {
    const event: BusEventOf<'kick'> = { k: 'kick', ...target, reason, until: Date.now() + this.deps.revocationMemoryMs, from: this.deps.replicaId };
    this.applyKick(event);
    await this.deps.publish(event);
  }

  async moderate(event: Omit<BusEventOf<'mod'>, 'k' | 'from'>): Promise<void> {
    const full: BusEventOf<'mod'> = { k: 'mod', ...event, from: this.deps.replicaId };
    this.applyModeration(full);
    await this.deps.publish(full);
  }

  /**
   * A user was removed from a room: if Postgres agrees they have no access any more, every replica ends
   * their subscriptions to it. False when they still have access (nothing done).
   */
  async removeMember(roomId: number, userId: number): Promise<boolean> {
    // Postgres decides: someone who can still get in (public room, or re-added meanwhile) keeps the room.
    const access = await this.deps.messages.roomAccess(roomId, userId);
    if (access && (access.room.kind === 'public' || access.isMember)) return false;
    const event: BusEventOf<'member'> = { k: 'member', room: roomId, userId, action: 'removed', from: this.deps.replicaId };
    this.applyMembership(event);
    await this.deps.publish(event);
    return true;
  }

  /** A room was archived or unarchived (already in Postgres): every replica tells its sockets. */
  async roomArchived(roomId: number, archived: boolean): Promise<void> {
    const event: BusEventOf<'archived'> = { k: 'archived', room: roomId, archived, from: this.deps.replicaId };
    this.applyArchived(event);
    await this.deps.publish(event);
  }

  async deleteMessage(roomId: number, seq: number, moderatorId: number): Promise<ChatMessage | null> {
    const updated = await this.deps.messages.softDelete(roomId, seq, moderatorId, true);
    if (updated) await this.deps.commands.publishUpdate(updated);
    return updated;
  }
}
