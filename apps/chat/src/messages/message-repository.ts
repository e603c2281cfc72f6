// Messages in Postgres: the log that makes chat lossless. A room's seq is taken from rooms.last_seq in
// the same transaction that inserts the message, so seq order is commit order and there are no gaps.
import type { Pool, PoolClient } from '@parley/db';
import type { ChatMessage, RoomInfo } from '@parley/protocol';

interface MessageRow {
  id: number;
  room_id: number;
  seq: number;
  author_id: number;
  handle: string;
  display_name: string;
  client_msg_id: string;
  body: string;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

const SELECT_MESSAGE = `
  SELECT m.id, m.room_id, m.seq, m.author_id, u.handle, u.display_name, m.client_msg_id,
         CASE WHEN m.deleted_at IS NULL THEN m.body ELSE '' END AS body,
         m.created_at, m.edited_at, m.deleted_at
  FROM messages m JOIN users u ON u.id = m.author_id`;

export function toChatMessage(row: MessageRow): ChatMessage {
  return {
    id: row.id,
    roomId: row.room_id,
    seq: row.seq,
    author: { id: row.author_id, handle: row.handle, displayName: row.display_name },
    clientId: row.client_msg_id,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deletedAt: row.deleted_at?.toISOString() ?? null,
  };
}

export interface NewMessage {
  roomId: number;
  authorId: number;
  clientId: string;
  body: string;
}

export type StoreResult = { message: ChatMessage; duplicate: boolean };

export class RoomArchivedError extends Error {
  constructor() {
    super('room is archived');
  }
}

export interface RoomAccess {
  room: RoomInfo;
  lastSeq: number;
  isMember: boolean;
  mutedUntil: Date | null;
}

export class MessageRepository {
  constructor(private readonly pool: Pool) {}

  async findByClientId(authorId: number, clientId: string): Promise<ChatMessage | null> {
    const { rows } = await this.pool.query<MessageRow>(`${SELECT_MESSAGE} WHERE m.author_id = $1 AND m.client_msg_id = $2`, [authorId, clientId]);
    return rows[0] ? toChatMessage(rows[0]) : null;
  }

  /**
   * Store one message and return it with its seq, or the original if this client id was already used
   * by this author (an idempotent resend). Resolves only after COMMIT.
   */
  async store(msg: NewMessage): Promise<StoreResult> {
    const existing = await this.findByClientId(msg.authorId, msg.clientId);
    if (existing) return { message: existing, duplicate: true };
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const stored = await this.insertInTx(client, msg);
      await client.query('COMMIT');
      return { message: stored, duplicate: false };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === '23505') {
        // A concurrent resend of the same client id won the race (possibly on another replica).
        const original = await this.findByClientId(msg.authorId, msg.clientId);
        if (original) return { message: original, duplicate: true };
      }
      throw err;
    } finally {
      client.release();
    }
  }

  private async insertInTx(client: PoolClient, msg: NewMessage): Promise<ChatMessage> {
    const seqRes = await client.query<{ last_seq: number }>(
      'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 AND archived_at IS NULL RETURNING last_seq',
      [msg.roomId],
    );
    const seq = seqRes.rows[0]?.last_seq;
    if (seq === undefined) throw new RoomArchivedError();
    const { rows } = await client.query<MessageRow>(
      `WITH ins AS (
         INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, room_id, seq, author_id, client_msg_id, body, created_at, edited_at, deleted_at)
       SELECT ins.*, u.handle, u.display_name FROM ins JOIN users u ON u.id = ins.author_id`,
      [msg.roomId, seq, msg.authorId, msg.clientId, msg.body],
    );
    return toChatMessage(rows[0]!);
  }

  /** Messages with seq in (afterSeq, uptoSeq], oldest first. */
  async after(roomId: number, afterSeq: number, limit: number, uptoSeq = Number.MAX_SAFE_INTEGER): Promise<ChatMessage[]> {
    const { rows } = await this.pool.query<MessageRow>(
      `${SELECT_MESSAGE} WHERE m.room_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4`,
      [roomId, afterSeq, uptoSeq, limit],
    );
    return rows.map(toChatMessage);
  }

  /** The page of messages just before `beforeSeq`, oldest first. */
  async before(roomId: number, beforeSeq: number, limit: number): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const { rows } = await this.pool.query<MessageRow>(
      `${SELECT_MESSAGE} WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,
      [roomId, beforeSeq, limit + 1],
    );
    const hasMore = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map(toChatMessage), hasMore };
  }

  async bySeq(roomId: number, seq: number): Promise<ChatMessage | null> {
    const { rows } = await this.pool.query<MessageRow>(`${SELECT_MESSAGE} WHERE m.room_id = $1 AND m.seq = $2`, [roomId, seq]);
    return rows[0] ? toChatMessage(rows[0]) : null;
  }

  /** Edit by the author only; returns null if no such message of this author (or deleted). */
  async edit(roomId: number, seq: number, authorId: number, body: string): Promise<ChatMessage | null> {
    const { rowCount } = await this.pool.query(
      `UPDATE messages SET body = $4, edited_at = now()
       WHERE room_id = $1 AND seq = $2 AND author_id = $3 AND deleted_at IS NULL`,
      [roomId, seq, authorId, body],
    );
    return rowCount ? this.bySeq(roomId, seq) : null;
  }

  /** Soft delete, by the author or (when `asModerator`) anyone; the body is no longer served. */
  async softDelete(roomId: number, seq: number, actorId: number, asModerator: boolean): Promise<ChatMessage | null> {
    const { rowCount } = await this.pool.query(
      `UPDATE messages SET deleted_at = now(), deleted_by = $3
       WHERE room_id = $1 AND seq = $2 AND deleted_at IS NULL AND ($4 OR author_id = $3)`,
      [roomId, seq, actorId, asModerator],
    );
    return rowCount ? this.bySeq(roomId, seq) : null;
  }

  async roomAccess(roomId: number, userId: number): Promise<RoomAccess | null> {
    const { rows } = await this.pool.query<{
      id: number; name: string; kind: RoomInfo['kind']; archived_at: Date | null; last_seq: number; member: boolean; muted_until: Date | null;
    }>(
      `SELECT r.id, r.name, r.kind, r.archived_at, r.last_seq, (rm.user_id IS NOT NULL) AS member, rm.muted_until
       FROM rooms r LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $2
       WHERE r.id = $1`,
      [roomId, userId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      room: { id: row.id, name: row.name, kind: row.kind, archived: row.archived_at !== null },
      lastSeq: row.last_seq,
      isMember: row.member,
      mutedUntil: row.muted_until,
    };
  }

  async lastSeq(roomId: number): Promise<number> {
    const { rows } = await this.pool.query<{ last_seq: number }>('SELECT last_seq FROM rooms WHERE id = $1', [roomId]);
    return rows[0]?.last_seq ?? 0;
  }

  async lastSeqs(roomIds: number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ id: number; last_seq: number }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])', [roomIds]);
    return new Map(rows.map((r) => [r.id, r.last_seq]));
  }

  async userStatus(userId: number): Promise<string | null> {
    const { rows } = await this.pool.query<{ status: string }>('SELECT status FROM users WHERE id = $1', [userId]);
    return rows[0]?.status ?? null;
  }
}
