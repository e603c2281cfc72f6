// Messages in Postgres: the log that makes chat lossless. A room's seq is taken from rooms.last_seq in
// the same transaction that inserts the message, so seq order is commit order and there are no gaps.
import { type Pool, type PoolClient, recordControlEvent, withTransaction } from '@parley/db';
import { type ChatMessage, MAX_REACTION_EMOJIS, REACTION_USERS_LISTED, type RoomInfo } from '@parley/protocol';
import { type MessageRow, type NewMessage, ATTACHMENTS_JOIN, REPLY_COLUMNS, REPLY_JOIN, type StoreResult, type WriterOptions, MessageWriter, toChatMessage } from './message-writer.ts';

export { AuthorInactiveError, RoomArchivedError, OverloadedError, DatabaseUnavailableError, NoLinkableAttachmentsError, toChatMessage, type NewMessage, type StoreResult } from './message-writer.ts';

export interface RoomAccess {
  room: RoomInfo;
  lastSeq: number;
  isMember: boolean;
  mutedUntil: Date | null;
}

/**
 * Messages as served to clients, with `version` (the control event id of their latest edit, delete or
 * reaction), the reply's original, the reactions summary and the attachments, all in the one query (no
 * query per message). Reactions and attachments of a deleted message are not served.
 */
const SELECT_VERSIONED = `
  SELECT m.id, m.room_id, m.seq, m.author_id, u.handle, u.display_name, m.client_msg_id,
         CASE WHEN m.deleted_at IS NULL THEN m.body ELSE '' END AS body,
         m.created_at, m.edited_at, m.deleted_at, m.version, m.reply_to_seq, ${REPLY_COLUMNS}, rx.reactions, att.attachments
  FROM messages m JOIN users u ON u.id = m.author_id ${REPLY_JOIN('m')} ${ATTACHMENTS_JOIN('m')}
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('emoji', g.emoji, 'count', g.n, 'userIds', g.ids, 'handles', g.handles) ORDER BY g.first, g.emoji) AS reactions
    FROM (
      SELECT r.emoji, count(*)::int AS n, min(r.created_at) AS first,
             (array_agg(r.user_id ORDER BY r.created_at, r.user_id))[1:${REACTION_USERS_LISTED}] AS ids,
             (array_agg(ru.handle ORDER BY r.created_at, r.user_id))[1:${REACTION_USERS_LISTED}] AS handles
      FROM message_reactions r JOIN users ru ON ru.id = r.user_id
      WHERE r.room_id = m.room_id AND r.seq = m.seq AND m.deleted_at IS NULL
      GROUP BY r.emoji
    ) g
  ) rx ON true`;

type VersionedRow = MessageRow & { version: number | null };

function toVersioned(row: VersionedRow): ChatMessage {
  const message = toChatMessage(row);
  return row.version === null ? message : { ...message, version: Number(row.version) };
}

/** Why an edit or delete changed nothing. */
export type ChangeRefused = 'archived' | 'not_allowed';

/** Why a reaction was refused: no such message, deleted, archived room, or too many different emojis. */
export type ReactRefused = 'not_found' | 'deleted' | 'archived' | 'too_many';

/** Thrown inside the edit transaction to roll it back when the room turned out archived. */
class RoomArchivedRollback extends Error {}

export class MessageRepository {
  readonly writer: MessageWriter;

  constructor(private readonly pool: Pool, writerOptions: WriterOptions = {}) {
    this.writer = new MessageWriter(pool, writerOptions);
  }

  /**
   * Store one message and return it with its seq, or the original if this client id was already used
   * by this author (an idempotent resend). Resolves only after COMMIT. Concurrent calls are group
   * committed (see MessageWriter); calls for one room get seqs in call order.
   */
  store(msg: NewMessage): Promise<StoreResult> {
    return this.writer.store(msg);
  }

  /** Messages with seq in (afterSeq, uptoSeq], oldest first. */
  async after(roomId: number, afterSeq: number, limit: number, uptoSeq = Number.MAX_SAFE_INTEGER): Promise<ChatMessage[]> {
    const { rows } = await this.pool.query<VersionedRow>(
      `${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4`,
      [roomId, afterSeq, uptoSeq, limit],
    );
    return rows.map(toVersioned);
  }

  /** The page of messages just before `beforeSeq`, oldest first. */
  async before(roomId: number, beforeSeq: number, limit: number): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const { rows } = await this.pool.query<VersionedRow>(
      `${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,
      [roomId, beforeSeq, limit + 1],
    );
    const hasMore = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map(toVersioned), hasMore };
  }

  /**
   * A window of `limit` messages around `seq`: it and up to half the window before it, the rest after.
   * Both halves come from the (room_id, seq) index in one round trip.
   */
  async around(roomId: number, seq: number, limit: number): Promise<{ messages: ChatMessage[]; hasMore: boolean; hasNewer: boolean }> {
    const upTo = Math.max(1, Math.ceil(limit / 2));
    const after = Math.max(0, limit - upTo);
    const { rows } = await this.pool.query<VersionedRow>(
      `(${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.seq <= $2 ORDER BY m.seq DESC LIMIT $3)
       UNION ALL
       (${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $4)`,
      [roomId, seq, upTo + 1, after + 1],
    );
    const older = rows.filter((r) => Number(r.seq) <= seq);
    const newer = rows.filter((r) => Number(r.seq) > seq);
    return {
      messages: [...older.slice(0, upTo).reverse(), ...newer.slice(0, after)].map(toVersioned),
      hasMore: older.length > upTo,
      hasNewer: newer.length > after,
    };
  }

  async bySeq(roomId: number, seq: number): Promise<ChatMessage | null> {
    const { rows } = await this.pool.query<VersionedRow>(`${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.seq = $2`, [roomId, seq]);
    return rows[0] ? toVersioned(rows[0]) : null;
  }

  /** Messages by (room, seq), in one query (for control events naming changed messages). */
  async bySeqs(keys: Array<{ roomId: number; seq: number }>): Promise<ChatMessage[]> {
    if (!keys.length) return [];
    const { rows } = await this.pool.query<VersionedRow>(
      `${SELECT_VERSIONED} JOIN unnest($1::bigint[], $2::bigint[]) AS k(room_id, seq) ON m.room_id = k.room_id AND m.seq = k.seq`,
      [keys.map((k) => k.roomId), keys.map((k) => k.seq)],
    );
    return rows.map(toVersioned);
  }

  /**
   * Messages of the room at or below `uptoSeq` changed (edited/deleted) after `sinceVersion`, in version
   * order: what a resuming client missed of messages it already has.
   */
  async changedSince(roomId: number, uptoSeq: number, sinceVersion: number, limit: number): Promise<ChatMessage[]> {
    const { rows } = await this.pool.query<VersionedRow>(
      `${SELECT_VERSIONED} WHERE m.room_id = $1 AND m.version > $2 AND m.seq <= $3 ORDER BY m.version LIMIT $4`,
      [roomId, sinceVersion, uptoSeq, limit],
    );
    return rows.map(toVersioned);
  }

  /**
   * Edit by the author only, not in an archived room. The change and its `message_updated` control
   * event (whose id becomes the message's version) commit together; every replica then broadcasts it.
   */
  async edit(roomId: number, seq: number, authorId: number, body: string): Promise<{ version: number } | ChangeRefused> {
    return this.change(roomId, seq, authorId, `body = $4, edited_at = now()`, `m.author_id = $3 AND m.deleted_at IS NULL`, [body]);
  }

  /**
   * Soft delete by the author (the body is no longer served), with its control event, as edit. Its
   * attachments are marked deleted in the same transaction; admin's sweeper then removes the objects.
   */
  async softDelete(roomId: number, seq: number, authorId: number): Promise<{ version: number } | ChangeRefused> {
    return this.change(roomId, seq, authorId, `deleted_at = now(), deleted_by = $3`, `m.author_id = $3 AND m.deleted_at IS NULL`, [], async (client) => {
      await client.query('UPDATE attachments SET deleted_at = now() WHERE room_id = $1 AND message_seq = $2 AND deleted_at IS NULL', [roomId, seq]);
    });
  }

  private async change(
    roomId: number, seq: number, actorId: number, set: string, where: string, extra: unknown[],
    alsoInTransaction?: (client: PoolClient) => Promise<void>,
  ): Promise<{ version: number } | ChangeRefused> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ archived: boolean }>(
        `UPDATE messages m SET ${set} FROM rooms r
         WHERE m.room_id = $1 AND m.seq = $2 AND r.id = m.room_id AND ${where}
         RETURNING r.archived_at IS NOT NULL AS archived`,
        [roomId, seq, actorId, ...extra],
      );
      const row = rows[0];
      if (!row) return 'not_allowed' as const;
      if (row.archived) throw new RoomArchivedRollback();
      await alsoInTransaction?.(client);
      const version = await recordControlEvent(client, { kind: 'message_updated', userId: actorId, roomId, seq });
      await client.query('UPDATE messages SET version = $3 WHERE room_id = $1 AND seq = $2', [roomId, seq, version]);
      return { version };
    }).catch((err: unknown) => {
      if (err instanceof RoomArchivedRollback) return 'archived' as const;
      throw err;
    });
  }

  /**
   * Set (`on`) or clear one user's reaction on a message, idempotently. A change commits together with
   * its `message_updated` control event, whose id becomes the message's version: every replica then
   * broadcasts the message's new state as `updated`, and a resume by `sinceVersion` re-sends it.
   * `changed: false` (no event) when it already was so.
   */
  async react(roomId: number, seq: number, userId: number, emoji: string, on: boolean): Promise<{ changed: boolean; version?: number } | ReactRefused> {
    return withTransaction(this.pool, async (client) => {
      // The message's row lock serializes concurrent reactions on it (the distinct-emoji cap holds).
      const { rows } = await client.query<{ deleted: boolean; archived: boolean }>(
        `SELECT m.deleted_at IS NOT NULL AS deleted, r.archived_at IS NOT NULL AS archived
         FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 AND m.seq = $2 FOR NO KEY UPDATE OF m`,
        [roomId, seq],
      );
      const target = rows[0];
      if (!target) return 'not_found' as const;
      if (target.archived) return 'archived' as const;
      if (target.deleted) return 'deleted' as const;
      let changed: number | null;
      if (on) {
        const { rows: held } = await client.query<{ n: number; mine: boolean }>(
          `SELECT count(DISTINCT emoji)::int AS n, bool_or(emoji = $3) AS mine FROM message_reactions WHERE room_id = $1 AND seq = $2`,
          [roomId, seq, emoji],
        );
        if (!held[0]?.mine && (held[0]?.n ?? 0) >= MAX_REACTION_EMOJIS) return 'too_many' as const;
        ({ rowCount: changed } = await client.query(
          'INSERT INTO message_reactions (room_id, seq, user_id, emoji) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [roomId, seq, userId, emoji],
        ));
      } else {
        ({ rowCount: changed } = await client.query(
          'DELETE FROM message_reactions WHERE room_id = $1 AND seq = $2 AND user_id = $3 AND emoji = $4',
          [roomId, seq, userId, emoji],
        ));
      }
      if (!changed) return { changed: false };
      const version = await recordControlEvent(client, { kind: 'message_updated', userId, roomId, seq, payload: { reaction: emoji, on } });
      await client.query('UPDATE messages SET version = $3 WHERE room_id = $1 AND seq = $2', [roomId, seq, version]);
      return { changed: true, version };
    });
  }

  /**
   * Move the member's read pointer forward to `seq` (capped at the room's last seq) and record a `read`
   * control event in the same transaction. Null when nothing moved (not a member, or not forward).
   */
  async markRead(roomId: number, userId: number, seq: number): Promise<number | null> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ seq: number }>(
        `UPDATE room_members rm SET last_read_seq = least($3::bigint, r.last_seq) FROM rooms r
         WHERE rm.room_id = $1 AND rm.user_id = $2 AND r.id = rm.room_id AND rm.last_read_seq < least($3::bigint, r.last_seq)
         RETURNING rm.last_read_seq AS seq`,
        [roomId, userId, seq],
      );
      const moved = rows[0];
      if (!moved) return null;
      await recordControlEvent(client, { kind: 'read', userId, roomId, seq: Number(moved.seq) });
      return Number(moved.seq);
    });
  }

  async roomAccess(roomId: number, userId: number): Promise<RoomAccess | null> {
    const { rows } = await this.pool.query<{
      id: number; name: string; kind: RoomInfo['kind']; archived_at: Date | null; last_seq: number; member: boolean; muted_until: Date | null;
    }>(
      // Mutes live in room_mutes (apart from membership: a non-member of a public room can be muted).
      `SELECT r.id, r.name, r.kind, r.archived_at, r.last_seq, (rm.user_id IS NOT NULL) AS member, mu.muted_until
       FROM rooms r
       LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $2
       LEFT JOIN room_mutes mu ON mu.room_id = r.id AND mu.user_id = $2
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

  async lastSeqs(roomIds: number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ id: number; last_seq: number }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])', [roomIds]);
    return new Map(rows.map((r) => [r.id, r.last_seq]));
  }
}
