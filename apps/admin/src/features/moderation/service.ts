// Moderation: deleting a message for everyone, muting and unmuting someone in a room. Who may act where
// is RoomRepository.findModeratable's rule (moderators: public rooms and private rooms they belong to;
// admins: every public and private room; direct conversations only for their members). Each change,
// its audit entry and its control event commit in one transaction.
import { recordControlEvent, withTransaction, type Pool } from '@parley/db';
import type { Actor, AuditRepository } from '../audit/audit-repository.ts';
import type { User } from '../users/user-repository.ts';
import type { Room, RoomRepository } from '../rooms/room-repository.ts';
import { Refusal } from '../refusal.ts';
import type { AttachmentRepository } from '../attachments/attachment-repository.ts';

export interface ModerationServiceDeps {
  pool: Pool;
  rooms: RoomRepository;
  audit: AuditRepository;
  attachments: AttachmentRepository;
}

export type Staff = Pick<User, 'id' | 'role'>;

export const EXCERPT_LENGTH = 80;

/** The first EXCERPT_LENGTH characters (code points, never half a surrogate pair), whitespace folded. */
export function excerptOf(body: string): string {
  const chars = [...body.replace(/\s+/g, ' ').trim()];
  return chars.length > EXCERPT_LENGTH ? `${chars.slice(0, EXCERPT_LENGTH - 1).join('')}…` : chars.join('');
}

export class ModerationService {
  constructor(private readonly d: ModerationServiceDeps) {}

  /** The room if this staff member may moderate it; a 404 otherwise (never reveals private rooms). */
  async moderatableRoom(staff: Staff, roomId: number): Promise<Room> {
    const room = await this.d.rooms.findModeratable(roomId, staff);
    if (!room) throw new Refusal(404, 'No such room, or not one you moderate.');
    return room;
  }

  /**
   * Soft-deletes a message for everyone: messages.version is the id of its message_updated event, so
   * a resuming client that knows an older version of the room is sent the deletion. False when the
   * message does not exist or is already deleted.
   */
  async deleteMessage(actor: Actor, staff: Staff, roomId: number, seq: number): Promise<boolean> {
    await this.moderatableRoom(staff, roomId);
    return withTransaction(this.d.pool, async (tx) => {
      const message = await this.d.rooms.lockLiveMessage(tx, roomId, seq);
      if (!message) return false;
      // The audit log keeps what was deleted (briefly), so the entry still makes sense afterwards.
      await this.d.audit.write(tx, actor, 'message.deleted', 'message', `${roomId}:${seq}`, { room: roomId, seq, excerpt: excerptOf(message.body) });
      const version = await recordControlEvent(tx, { kind: 'message_updated', userId: staff.id, roomId, seq, payload: { deleted: true, by: 'moderator' } });
      await this.d.rooms.markDeleted(tx, roomId, seq, staff.id, version);
      // Its files go with it: marked here, removed from the store by the attachment sweeper.
      await this.d.attachments.markDeletedForMessage(tx, roomId, seq);
      return true;
    });
  }

  /**
   * Mutes `target` in the room until `minutes` from now, or unmutes them (null). Never makes anyone a
   * member: in a private room or a direct conversation only members can be muted; in a public room
   * anyone can (they may join and speak at any time).
   */
  async setMute(actor: Actor, staff: Staff, room: Room, target: User, minutes: number | null): Promise<{ until: Date | null }> {
    if (target.id === staff.id) throw new Refusal(400, 'You cannot mute yourself.');
    const until = minutes === null ? null : new Date(Date.now() + minutes * 60_000);
    await withTransaction(this.d.pool, async (tx) => {
      if (until && room.kind !== 'public' && !(await this.d.rooms.isMember(tx, room.id, target.id))) {
        throw new Refusal(404, `@${target.handle} is not a member of this room.`);
      }
      await this.d.rooms.setMutedUntil(room.id, target.id, until, tx, staff.id);
      await this.d.audit.write(tx, actor, until ? 'user.muted' : 'user.unmuted', 'user', target.id, {
        handle: target.handle, room: room.id, ...(until ? { minutes, until: until.toISOString() } : {}),
      });
      await recordControlEvent(tx, { kind: 'mute', userId: target.id, roomId: room.id, payload: { until: until?.toISOString() ?? null } });
    });
    return { until };
  }
}
