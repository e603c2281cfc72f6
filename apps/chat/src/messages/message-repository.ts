// Messages in Postgres: the log that makes chat lossless. A room's seq is taken from rooms.last_seq in
// the same transaction that inserts the message, so seq order is commit order and there are no gaps.
import type { Pool } from '@parley/db';
import type { ChatMessage, RoomInfo } from '@parley/protocol';
import { type MessageRow, type NewMessage, type StoreResult, type WriterOptions, MessageWriter, SELECT_MESSAGE, toChatMessage } from './message-writer.ts';

export { RoomArchivedError, OverloadedError, toChatMessage, type NewMessage, type StoreResult } from './message-writer.ts';

export interface RoomAccess {
  room: RoomInfo;
  lastSeq: number;
  isMember: boolean;
  mutedUntil: Date | null;
}

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

  async lastSeqs(roomIds: number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ id: number; last_seq: number }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])', [roomIds]);
    return new Map(rows.map((r) => [r.id, r.last_seq]));
  }

  /**
   * A user's status, read from Postgres now (at each upgrade, so a banned user cannot reconnect).
   * Lookups are group-read like sends are group-committed: one query in flight at a time, and the
   * lookups that arrive meanwhile share the next one, so a reconnect storm costs a few round trips
   * instead of one per socket (and nothing waits when it is quiet).
   */
  userStatus(userId: number): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const waiting = this.statusWaiters.get(userId);
      if (waiting) waiting.push({ resolve, reject });
      else this.statusWaiters.set(userId, [{ resolve, reject }]);
      this.scheduleStatusLookup();
    });
  }

  private readonly statusWaiters = new Map<number, Array<{ resolve: (s: string | null) => void; reject: (err: unknown) => void }>>();
  private statusLookupScheduled = false;
  private statusLookupInFlight = false;

  private scheduleStatusLookup(): void {
    if (this.statusLookupScheduled || this.statusLookupInFlight || !this.statusWaiters.size) return;
    this.statusLookupScheduled = true;
    setImmediate(() => {
      this.statusLookupScheduled = false;
      this.lookUpStatuses();
    });
  }

  private lookUpStatuses(): void {
    const batch = new Map([...this.statusWaiters].slice(0, 1_000));
    for (const id of batch.keys()) this.statusWaiters.delete(id);
    const ids = [...batch.keys()];
    this.statusLookupInFlight = true;
    this.pool.query<{ id: string; status: string }>({ name: 'chat-user-status', text: 'SELECT id, status FROM users WHERE id = ANY($1::bigint[])', values: [ids] }).then(
      ({ rows }) => {
        const status = new Map(rows.map((r) => [Number(r.id), r.status]));
        for (const [id, waiters] of batch) for (const w of waiters) w.resolve(status.get(id) ?? null);
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    ).finally(() => {
      this.statusLookupInFlight = false;
      this.scheduleStatusLookup();
    });
  }
}
