// Room changes: create, rename, archive/unarchive, membership (admin adds/removes, members invite,
// people join public rooms), direct conversations. Each change, its audit entry and its control events
// commit in one transaction, so every chat replica learns of it from Postgres (sidebars via
// member_added/member_removed/room_updated/room_archived/conversation_hidden; removed members leave the room).
import { recordControlEvent, withTransaction, type Pool } from '@parley/db';
import type { Actor, AuditRepository } from '../audit/audit-repository.ts';
import type { User } from '../users/user-repository.ts';
import { Refusal } from '../refusal.ts';
import type { NewRoom, Room, RoomRepository } from './room-repository.ts';

/** Most people in one group conversation, its creator included. */
export const GROUP_DM_LIMIT = 8;

export interface RoomServiceDeps {
  pool: Pool;
  rooms: RoomRepository;
  audit: AuditRepository;
}

export class RoomService {
  constructor(private readonly d: RoomServiceDeps) {}

  /** Throws DuplicateRoomError when the name is taken (nothing is written then). */
  async create(actor: Actor, input: NewRoom): Promise<Room> {
    const id = await withTransaction(this.d.pool, async (tx) => {
      const roomId = await this.d.rooms.insert(tx, input);
      await this.d.audit.write(tx, actor, 'room.created', 'room', roomId, { name: input.name.trim(), kind: input.kind });
      await recordControlEvent(tx, { kind: 'member_added', userId: input.createdBy, roomId });
      return roomId;
    });
    return (await this.d.rooms.findVisible(id, input.createdBy))!;
  }

  /** New name and topic; throws DuplicateRoomError when the name is taken. */
  async rename(actor: Actor, room: Room, input: { name: string; topic: string }): Promise<void> {
    if (room.kind === 'direct') throw new Refusal(404, 'No such room.');
    await withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.rename(tx, room.id, input))) throw new Refusal(404, 'No such room.');
      await this.d.audit.write(tx, actor, 'room.updated', 'room', room.id, { from: { name: room.name, topic: room.topic }, to: { name: input.name.trim(), topic: input.topic.trim() } });
      await recordControlEvent(tx, { kind: 'room_updated', roomId: room.id, payload: { name: input.name.trim(), topic: input.topic.trim() } });
    });
  }

  /** Archived rooms are read-only; every replica tells the room's open sockets. */
  async setArchived(actor: Actor, room: Room, archived: boolean): Promise<void> {
    if (room.kind === 'direct') throw new Refusal(404, 'No such room.');
    await withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.setArchived(room.id, archived, tx))) throw new Refusal(404, 'No such room.');
      await this.d.audit.write(tx, actor, archived ? 'room.archived' : 'room.unarchived', 'room', room.id, { name: room.name });
      await recordControlEvent(tx, { kind: 'room_archived', roomId: room.id, payload: { archived } });
    });
  }

  /** Adds a member (an admin, or a member inviting: `via`); false when they already were one. */
  async addMember(actor: Actor, room: Room, member: User, via: 'admin' | 'invite'): Promise<boolean> {
    return withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.addMember(room.id, member.id, tx))) return false;
      await this.d.audit.write(tx, actor, 'room.member_added', 'room', room.id, { name: room.name, userId: member.id, handle: member.handle, via });
      await recordControlEvent(tx, { kind: 'member_added', userId: member.id, roomId: room.id });
      return true;
    });
  }

  /** Their sockets leave the room on every replica (and chat refuses the rejoin); false when not a member. */
  async removeMember(actor: Actor, room: Room, member: User): Promise<boolean> {
    return withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.removeMember(room.id, member.id, tx))) return false;
      await this.d.audit.write(tx, actor, 'room.member_removed', 'room', room.id, { name: room.name, userId: member.id, handle: member.handle });
      await recordControlEvent(tx, { kind: 'member_removed', userId: member.id, roomId: room.id });
      return true;
    });
  }

  /**
   * Someone leaves a group conversation. Their sockets leave it on every replica (member_removed), and
   * the people still in it see their sidebar and title lose the name (room_updated, same name and
   * topic: chat tells the members to re-read the conversation). The room's key becomes the people still
   * in it (the database re-keys it on the delete: migration 0011), so opening the original set of people
   * again starts a new conversation instead of bringing the leaver back. A two-person DM cannot be left
   * (there is nobody to talk to without them). False when they were not a member.
   */
  async leaveConversation(actor: Actor, room: Room, member: User): Promise<boolean> {
    return withTransaction(this.d.pool, async (tx) => {
      if (room.kind !== 'direct' || !(await this.d.rooms.isGroupConversation(room.id, tx))) throw new Refusal(400, 'Only group conversations can be left.');
      await this.d.rooms.lockGroupMembership(tx);
      if (!(await this.d.rooms.removeMember(room.id, member.id, tx))) return false;
      await this.d.audit.write(tx, actor, 'room.member_left', 'room', room.id, { userId: member.id, handle: member.handle });
      await recordControlEvent(tx, { kind: 'member_removed', userId: member.id, roomId: room.id });
      await recordControlEvent(tx, { kind: 'room_updated', roomId: room.id, payload: { name: room.name, topic: room.topic } });
      return true;
    });
  }

  /**
   * Close a direct conversation in the user's sidebar until its next message (or until they open it
   * again). The conversation_hidden event tells every tab and device of theirs, which re-read the list.
   * False when it is not a direct conversation of theirs.
   */
  async closeConversation(userId: number, roomId: number): Promise<boolean> {
    return withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.hide(tx, roomId, userId))) return false;
      await recordControlEvent(tx, { kind: 'conversation_hidden', userId, roomId, payload: { hidden: true } });
      return true;
    });
  }

  /**
   * Open a closed direct conversation again (the person went to it: a link, the quick switcher): back
   * in their sidebar on every tab and device (conversation_hidden). True when it is a direct
   * conversation of theirs (already open: nothing is written).
   */
  async reopenConversation(userId: number, roomId: number): Promise<boolean> {
    return withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.rooms.unhide(tx, roomId, userId))) return this.d.rooms.isDirectMember(tx, roomId, userId);
      await recordControlEvent(tx, { kind: 'conversation_hidden', userId, roomId, payload: { hidden: false } });
      return true;
    });
  }

  /**
   * Someone opens a public room they are not in yet: they become a member (not of an archived room:
   * reading it needs no membership). Not audited (nobody acted on anyone else); the event updates their
   * other tabs' sidebars.
   */
  async join(userId: number, room: Room): Promise<void> {
    if (room.kind !== 'public') throw new Refusal(404, 'This room does not exist or you are not a member.');
    if (room.archivedAt) return;
    await withTransaction(this.d.pool, async (tx) => {
      if (await this.d.rooms.addMember(room.id, userId, tx)) await recordControlEvent(tx, { kind: 'member_added', userId, roomId: room.id });
    });
  }

  /**
   * A new person joins the rooms everyone is in (#general, see migration 0008), so their chat is not
   * empty; member_added updates their sidebar if a tab is already open. Idempotent.
   */
  async joinAutoJoinRooms(userId: number): Promise<number[]> {
    return withTransaction(this.d.pool, async (tx) => {
      const joined = await this.d.rooms.joinAutoJoinRooms(tx, userId);
      for (const roomId of joined) await recordControlEvent(tx, { kind: 'member_added', userId, roomId });
      return joined;
    });
  }

  /**
   * A group conversation of the actor and the people named by `handles` (at most GROUP_DM_LIMIT people
   * in all), created on first use or reopened when exactly these people are in one now; every
   * new member gets member_added (their sidebars update live). One other person: the plain DM.
   */
  async openGroup(actor: Actor, from: User, handles: string[]): Promise<number> {
    const wanted = [...new Set(handles.map((h) => h.replace(/^@/, '').toLowerCase()))].filter((h) => h !== from.handle.toLowerCase());
    if (wanted.length === 0) throw new Refusal(400, 'Pick someone other than yourself.');
    if (wanted.length + 1 > GROUP_DM_LIMIT) throw new Refusal(400, `A group conversation has at most ${GROUP_DM_LIMIT} people (you and ${GROUP_DM_LIMIT - 1} others); you named ${wanted.length} others.`);
    const found = await this.d.rooms.activeUsersByHandles(wanted);
    const known = new Set(found.map((u) => u.handle.toLowerCase()));
    const unknown = wanted.filter((h) => !known.has(h));
    if (unknown.length) throw new Refusal(404, `Nobody is called ${unknown.map((h) => `@${h}`).join(', ')}.`);
    return this.openConversation(actor, from, [from.id, ...found.map((u) => u.id)]);
  }

  /** The direct room of two people, created on first use: both get member_added. */
  async openDirect(actor: Actor, from: User, to: User): Promise<number> {
    if (from.id === to.id) throw new Refusal(400, 'Pick someone other than yourself.');
    return this.openConversation(actor, from, [from.id, to.id]);
  }

  /**
   * DM or group conversation: opened (or created, audited) and every new member told (member_added);
   * when the opener had closed it, their other tabs see it come back (conversation_hidden).
   */
  private async openConversation(actor: Actor, from: User, userIds: number[]): Promise<number> {
    return withTransaction(this.d.pool, async (tx) => {
      const { id, created, added, unhidden } = await this.d.rooms.ensureConversation(tx, from.id, userIds);
      if (created) await this.d.audit.write(tx, actor, 'room.direct_opened', 'room', id, { userIds: [...userIds].sort((a, b) => a - b) });
      for (const userId of added) await recordControlEvent(tx, { kind: 'member_added', userId, roomId: id });
      if (unhidden) await recordControlEvent(tx, { kind: 'conversation_hidden', userId: from.id, roomId: id, payload: { hidden: false } });
      return id;
    });
  }
}
