import { type Pool, withTransaction } from '@parley/db';
import type { Queryable } from '../audit/audit-repository.ts';

export type RoomKind = 'public' | 'private' | 'direct';

export interface Room {
  id: number;
  name: string;
  topic: string;
  kind: RoomKind;
  lastSeq: number;
  createdAt: Date;
  archivedAt: Date | null;
  memberCount: number;
  isMember: boolean;
}

interface RoomRow {
  id: number;
  name: string;
  topic: string;
  kind: RoomKind;
  last_seq: number;
  created_at: Date;
  archived_at: Date | null;
  member_count: number;
  is_member: boolean;
}

const toRoom = (r: RoomRow): Room => ({
  id: r.id, name: r.name, topic: r.topic, kind: r.kind, lastSeq: r.last_seq, createdAt: r.created_at,
  archivedAt: r.archived_at, memberCount: r.member_count, isMember: r.is_member,
});

const SELECT_ROOM = `
  SELECT r.id, r.name, r.topic, r.kind, r.last_seq, r.created_at, r.archived_at,
         (SELECT count(*)::int FROM room_members m WHERE m.room_id = r.id) AS member_count,
         EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = $1) AS is_member
  FROM rooms r`;

export class DuplicateRoomError extends Error {}

/** The advisory lock key of lockGroupMembership (any constant no other lock uses). */
const GROUP_MEMBERSHIP_LOCK = 0x70677270; // "pgrp"; migration 0011's re-keying trigger takes it too

export interface NewRoom {
  name: string;
  topic: string;
  kind: 'public' | 'private';
  createdBy: number;
}

export class RoomRepository {
  constructor(private readonly pool: Pool) {}

  /** Rooms a user can see: every public room, plus private rooms they belong to (no DMs here). */
  async listVisible(userId: number): Promise<Room[]> {
    const { rows } = await this.pool.query<RoomRow>(
      `${SELECT_ROOM} WHERE r.kind = 'public' OR (r.kind = 'private' AND EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = $1))
       ORDER BY r.archived_at IS NOT NULL, lower(r.name)`,
      [userId],
    );
    return rows.map(toRoom);
  }

  async findVisible(roomId: number, userId: number): Promise<Room | null> {
    const { rows } = await this.pool.query<RoomRow>(`${SELECT_ROOM} WHERE r.id = $2`, [userId, roomId]);
    const room = rows[0] ? toRoom(rows[0]) : null;
    if (!room) return null;
    return room.kind === 'public' || room.isMember ? room : null;
  }

  /** Creates a room with its creator as owner (without a control event: RoomService.create adds it). */
  async create(input: NewRoom): Promise<Room> {
    const id = await withTransaction(this.pool, (client) => this.insert(client, input));
    return (await this.findVisible(id, input.createdBy))!;
  }

  /** Inserts a room and its owner's membership with the caller's transaction client; returns its id. */
  async insert(db: Queryable, input: NewRoom): Promise<number> {
    try {
      const { rows } = await db.query<{ id: number }>(
        'INSERT INTO rooms (name, topic, kind, created_by) VALUES ($1, $2, $3, $4) RETURNING id',
        [input.name.trim(), input.topic.trim(), input.kind, input.createdBy],
      );
      await db.query(`INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'owner')`, [rows[0]!.id, input.createdBy]);
      return rows[0]!.id;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new DuplicateRoomError('a room with this name already exists');
      throw err;
    }
  }

  /** New name and topic (not for direct rooms); false when there is no such room. */
  async rename(db: Queryable, roomId: number, input: { name: string; topic: string }): Promise<boolean> {
    try {
      const { rowCount } = await db.query(`UPDATE rooms SET name = $2, topic = $3 WHERE id = $1 AND kind <> 'direct'`, [roomId, input.name.trim(), input.topic.trim()]);
      return (rowCount ?? 0) > 0;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new DuplicateRoomError('a room with this name already exists');
      throw err;
    }
  }

  async findById(roomId: number): Promise<Room | null> {
    const { rows } = await this.pool.query<RoomRow>(`${SELECT_ROOM} WHERE r.id = $2`, [0, roomId]);
    return rows[0] ? toRoom(rows[0]) : null;
  }

  /** A user's direct conversations (one row each, group conversations too), with the other people by id. */
  async listDirect(userId: number): Promise<DirectRoom[]> {
    const { rows } = await this.pool.query<{ id: number; last_seq: number; others: Array<{ id: number; handle: string; displayName: string }> }>(
      `SELECT r.id, r.last_seq,
              json_agg(json_build_object('id', u.id, 'handle', u.handle, 'displayName', u.display_name) ORDER BY u.id) AS others
       FROM rooms r
       JOIN room_members me ON me.room_id = r.id AND me.user_id = $1
       JOIN room_members them ON them.room_id = r.id AND them.user_id <> $1
       JOIN users u ON u.id = them.user_id
       WHERE r.kind = 'direct'
       GROUP BY r.id
       ORDER BY r.last_seq DESC, lower(min(u.display_name))`,
      [userId],
    );
    return rows.map((r) => {
      const others = r.others.map((o) => ({ id: Number(o.id), handle: o.handle, displayName: o.displayName }));
      return { id: r.id, lastSeq: r.last_seq, other: others[0]!, others };
    });
  }

  /** The one direct room of two people ("minId:maxId"), created on first use with both as members. */
  async openDirect(a: number, b: number): Promise<number> {
    return withTransaction(this.pool, async (client) => (await this.ensureConversation(client, a, [a, b])).id);
  }

  /**
   * With the caller's transaction client: the direct room of exactly these people (2 to 8 ids, the
   * opener among them), created if needed, with all of them as members; says whether the room is new,
   * who became a member just now, and whether the opener had closed it (it is back in their sidebar).
   * The key is the sorted ids: two people share one DM, and each set of 3 or more people one group
   * conversation, found by its members now (see lockGroupMembership), so someone who left is never
   * brought back.
   */
  async ensureConversation(db: Queryable, openedBy: number, userIds: number[]): Promise<{ id: number; created: boolean; added: number[]; unhidden: boolean }> {
    const ids = [...new Set(userIds)].sort((x, y) => x - y);
    const key = ids.join(':');
    const group = ids.length > 2;
    if (group) await this.lockGroupMembership(db);
    const inserted = await db.query<{ id: number }>(
      `INSERT INTO rooms (name, kind, created_by, direct_key, is_group) VALUES ($1, 'direct', $2, $3, $4) ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
      [`dm ${key}`, openedBy, key, group],
    );
    const id = inserted.rows[0]?.id ?? (await db.query<{ id: number }>('SELECT id FROM rooms WHERE direct_key = $1', [key])).rows[0]!.id;
    const { rows } = await db.query<{ user_id: number }>(
      'INSERT INTO room_members (room_id, user_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id',
      [id, ids],
    );
    const unhidden = await this.unhide(db, id, openedBy);
    return { id: Number(id), created: inserted.rows.length > 0, added: rows.map((r) => Number(r.user_id)).sort((x, y) => x - y), unhidden };
  }

  /**
   * Group conversations' members and keys change together under this one lock (opening a group by its
   * people, leaving one): a leave and an open of the old or the new set of people cannot interleave, and
   * two leaves that end at the same set cannot both take its key. Both are rare; pairs never take it.
   * The database re-keys a group after any change to its members (migration 0011's trigger, which takes
   * this lock too, so the previous release's leaves re-key as well); taking it here first, before any
   * row lock, keeps this release's opens and leaves in one order.
   */
  async lockGroupMembership(db: Queryable): Promise<void> {
    await db.query('SELECT pg_advisory_xact_lock($1)', [GROUP_MEMBERSHIP_LOCK]);
  }

  /** A group conversation (opened by 3 to 8 people; it stays one when people leave, so the rest may leave too). */
  async isGroupConversation(roomId: number, db: Queryable = this.pool): Promise<boolean> {
    const { rows } = await db.query<{ is_group: boolean }>(`SELECT is_group FROM rooms WHERE id = $1 AND kind = 'direct'`, [roomId]);
    return rows[0]?.is_group ?? false;
  }

  /** Close a direct conversation in the user's sidebar until its next message; false if not theirs or not direct. */
  async hide(db: Queryable, roomId: number, userId: number): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE room_members m SET hidden_through_seq = r.last_seq FROM rooms r
       WHERE r.id = m.room_id AND m.room_id = $1 AND m.user_id = $2 AND r.kind = 'direct'`,
      [roomId, userId],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Whoever opens a direct conversation again gets it back in their sidebar; false when it was not closed. */
  async unhide(db: Queryable, roomId: number, userId: number): Promise<boolean> {
    const { rowCount } = await db.query('UPDATE room_members SET hidden_through_seq = NULL WHERE room_id = $1 AND user_id = $2 AND hidden_through_seq IS NOT NULL', [roomId, userId]);
    return (rowCount ?? 0) > 0;
  }

  /** Active users by handle (case-insensitive); handles nobody active has are left out. */
  async activeUsersByHandles(handles: string[]): Promise<Array<{ id: number; handle: string }>> {
    const { rows } = await this.pool.query<{ id: number; handle: string }>(
      `SELECT id, handle FROM users WHERE lower(handle) = ANY($1::text[]) AND status = 'active'`,
      [handles.map((h) => h.toLowerCase())],
    );
    return rows.map((r) => ({ id: Number(r.id), handle: r.handle }));
  }

  /** Makes the user a member of every open public room everyone joins (#general); returns the rooms joined just now. */
  async joinAutoJoinRooms(db: Queryable, userId: number): Promise<number[]> {
    const { rows } = await db.query<{ room_id: number }>(
      `INSERT INTO room_members (room_id, user_id)
       SELECT id, $1 FROM rooms WHERE auto_join AND kind = 'public' AND archived_at IS NULL
       ON CONFLICT DO NOTHING RETURNING room_id`,
      [userId],
    );
    return rows.map((r) => Number(r.room_id));
  }

  /** Adds a member; false when they already were one. */
  async addMember(roomId: number, userId: number, db: Queryable = this.pool): Promise<boolean> {
    const { rowCount } = await db.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [roomId, userId]);
    return (rowCount ?? 0) > 0;
  }

  async removeMember(roomId: number, userId: number, db: Queryable = this.pool): Promise<boolean> {
    const { rowCount } = await db.query('DELETE FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    return (rowCount ?? 0) > 0;
  }

  async isDirectMember(db: Queryable, roomId: number, userId: number): Promise<boolean> {
    const { rows } = await db.query(`SELECT 1 FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 AND m.user_id = $2 AND r.kind = 'direct'`, [roomId, userId]);
    return rows.length > 0;
  }

  async isMember(db: Queryable, roomId: number, userId: number): Promise<boolean> {
    const { rows } = await db.query('SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    return rows.length > 0;
  }

  async members(roomId: number): Promise<RoomMember[]> {
    const { rows } = await this.pool.query<{ id: number; handle: string; display_name: string; role: 'owner' | 'member'; joined_at: Date; muted_until: Date | null }>(
      `SELECT u.id, u.handle, u.display_name, m.role, m.joined_at, mu.muted_until
       FROM room_members m JOIN users u ON u.id = m.user_id
       LEFT JOIN room_mutes mu ON mu.room_id = m.room_id AND mu.user_id = m.user_id
       WHERE m.room_id = $1 ORDER BY m.role DESC, lower(u.display_name)`,
      [roomId],
    );
    return rows.map((r) => ({ id: r.id, handle: r.handle, displayName: r.display_name, role: r.role, joinedAt: r.joined_at, mutedUntil: r.muted_until }));
  }

  /** Admin list: public and private rooms (direct conversations stay private), with a name filter. */
  async listAll(q = ''): Promise<Room[]> {
    const { rows } = await this.pool.query<RoomRow>(
      `${SELECT_ROOM} WHERE r.kind <> 'direct' AND ($2 = '' OR r.name ILIKE '%' || $2 || '%')
       ORDER BY r.archived_at IS NOT NULL, lower(r.name) LIMIT 500`,
      [0, q],
    );
    return rows.map(toRoom);
  }

  /**
   * Rooms whose messages a staff member may read and moderate on the moderation page: admins every
   * public and private room, moderators public rooms and private rooms they belong to. Direct
   * conversations are never listed.
   */
  async listModeratable(user: { id: number; role: string }): Promise<Room[]> {
    const { rows } = await this.pool.query<RoomRow>(
      `${SELECT_ROOM} WHERE r.kind = 'public'
         OR (r.kind = 'private' AND ($2 = 'admin' OR EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = $1)))
       ORDER BY r.archived_at IS NOT NULL, lower(r.name) LIMIT 500`,
      [user.id, user.role],
    );
    return rows.map(toRoom);
  }

  /**
   * The room if this staff member may moderate messages in it (delete, mute): what listModeratable
   * lists, plus direct conversations they are part of (the room page's actions); otherwise null.
   */
  async findModeratable(roomId: number, user: { id: number; role: string }): Promise<Room | null> {
    if (user.role !== 'admin' && user.role !== 'moderator') return null;
    const { rows } = await this.pool.query<RoomRow>(`${SELECT_ROOM} WHERE r.id = $2`, [user.id, roomId]);
    const room = rows[0] ? toRoom(rows[0]) : null;
    if (!room) return null;
    if (room.kind === 'public' || room.isMember) return room;
    return room.kind === 'private' && user.role === 'admin' ? room : null;
  }

  async setArchived(roomId: number, archived: boolean, db: Queryable = this.pool): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE rooms SET archived_at = CASE WHEN $2 THEN COALESCE(archived_at, now()) ELSE NULL END WHERE id = $1 AND kind <> 'direct'`,
      [roomId, archived],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Mute (until a time) or unmute (null) a user in a room. Never touches membership: who may be muted
   * where is ModerationService's rule. room_members.muted_until is kept in step for members (what chat
   * reads at join until it reads room_mutes).
   */
  async setMutedUntil(roomId: number, userId: number, until: Date | null, db: Queryable = this.pool, mutedBy: number | null = null): Promise<void> {
    if (until) {
      await db.query(
        `INSERT INTO room_mutes (room_id, user_id, muted_until, muted_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, user_id) DO UPDATE SET muted_until = EXCLUDED.muted_until, muted_by = EXCLUDED.muted_by, created_at = now()`,
        [roomId, userId, until, mutedBy],
      );
    } else {
      await db.query('DELETE FROM room_mutes WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    }
    await db.query('UPDATE room_members SET muted_until = $3 WHERE room_id = $1 AND user_id = $2', [roomId, userId, until]);
  }

  async mutedUntil(roomId: number, userId: number): Promise<Date | null> {
    const { rows } = await this.pool.query<{ muted_until: Date | null }>(
      'SELECT muted_until FROM room_mutes WHERE room_id = $1 AND user_id = $2 AND muted_until > now()',
      [roomId, userId],
    );
    return rows[0]?.muted_until ?? null;
  }

  /** Mutes in force in a room, members or not, soonest to end first. */
  async mutes(roomId: number): Promise<MutedPerson[]> {
    const { rows } = await this.pool.query<{ id: number; handle: string; display_name: string; muted_until: Date }>(
      `SELECT u.id, u.handle, u.display_name, mu.muted_until FROM room_mutes mu JOIN users u ON u.id = mu.user_id
       WHERE mu.room_id = $1 AND mu.muted_until > now() ORDER BY mu.muted_until, u.id`,
      [roomId],
    );
    return rows.map((r) => ({ id: r.id, handle: r.handle, displayName: r.display_name, mutedUntil: r.muted_until }));
  }

  /** Locks a message that is not deleted yet (moderator delete); false when there is none. */
  /** Locks a message that is not deleted and returns its body; null when it is missing or deleted. */
  async lockLiveMessage(db: Queryable, roomId: number, seq: number): Promise<{ body: string } | null> {
    const { rows } = await db.query<{ body: string }>('SELECT body FROM messages WHERE room_id = $1 AND seq = $2 AND deleted_at IS NULL FOR UPDATE', [roomId, seq]);
    return rows[0] ?? null;
  }

  /** Soft-deletes a message as a moderator; `version` is the id of its message_updated control event. */
  async markDeleted(db: Queryable, roomId: number, seq: number, deletedBy: number | null, version: number): Promise<void> {
    await db.query('UPDATE messages SET deleted_at = now(), deleted_by = $3, version = $4 WHERE room_id = $1 AND seq = $2', [roomId, seq, deletedBy, version]);
  }

  /**
   * A room's messages for moderators, newest first (deleted ones included, marked), filtered and paged
   * by keyset: `before` is the seq the page ends under, so pages stay put while people keep talking.
   * `more` says whether older messages match too.
   */
  async moderationMessages(roomId: number, f: ModerationFilter & { limit: number }): Promise<{ messages: ModerationMessage[]; more: boolean }> {
    const { rows } = await this.pool.query<{ seq: number; body: string; created_at: Date; deleted_at: Date | null; author_id: number; handle: string; display_name: string }>(
      `SELECT m.seq, m.body, m.created_at, m.deleted_at, u.id AS author_id, u.handle, u.display_name
       FROM messages m JOIN users u ON u.id = m.author_id
       WHERE m.room_id = $1
         AND ($2 = '' OR m.body ILIKE '%' || $2 || '%' OR u.handle ILIKE '%' || $2 || '%')
         AND ($3 = '' OR u.handle = $3)
         AND ($4 = '' OR (m.deleted_at IS NOT NULL) = ($4 = 'deleted'))
         AND ($5::bigint IS NULL OR m.seq < $5::bigint)
       ORDER BY m.seq DESC LIMIT $6`,
      [roomId, f.q, f.author, f.state, f.before, f.limit + 1],
    );
    return {
      messages: rows.slice(0, f.limit).map((r) => ({
        seq: Number(r.seq), body: r.body, createdAt: r.created_at, deletedAt: r.deleted_at,
        author: { id: r.author_id, handle: r.handle, displayName: r.display_name },
      })),
      more: rows.length > f.limit,
    };
  }
}

/** What the moderation page lists: text or handle contains `q`, written by `author`, live or deleted, older than `before`. */
export interface ModerationFilter {
  q: string;
  author: string;
  state: '' | 'live' | 'deleted';
  before: number | null;
}

export interface DirectRoom {
  id: number;
  lastSeq: number;
  /** The other person (group conversations: the first of them by id). */
  other: { id: number; handle: string; displayName: string };
  /** Everyone else in it, by id (more than one: a group conversation). */
  others: Array<{ id: number; handle: string; displayName: string }>;
}

export interface RoomMember {
  id: number;
  handle: string;
  displayName: string;
  role: 'owner' | 'member';
  joinedAt: Date;
  mutedUntil: Date | null;
}

export interface MutedPerson {
  id: number;
  handle: string;
  displayName: string;
  mutedUntil: Date;
}

export interface ModerationMessage {
  seq: number;
  body: string;
  createdAt: Date;
  deletedAt: Date | null;
  author: { id: number; handle: string; displayName: string };
}
