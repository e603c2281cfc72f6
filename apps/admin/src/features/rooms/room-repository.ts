import type { Pool } from '@parley/db';

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

  async create(input: { name: string; topic: string; kind: 'public' | 'private'; createdBy: number }): Promise<Room> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: number }>(
        'INSERT INTO rooms (name, topic, kind, created_by) VALUES ($1, $2, $3, $4) RETURNING id',
        [input.name.trim(), input.topic.trim(), input.kind, input.createdBy],
      );
      const id = rows[0]!.id;
      await client.query(`INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'owner')`, [id, input.createdBy]);
      await client.query('COMMIT');
      return (await this.findVisible(id, input.createdBy))!;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === '23505') throw new DuplicateRoomError('a room with this name already exists');
      throw err;
    } finally {
      client.release();
    }
  }

  async join(roomId: number, userId: number): Promise<void> {
    await this.pool.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [roomId, userId]);
  }
}
