// The SQL of attachments: rows, their link to a message, deletion marks for the sweeper, and usage.
import type { Pool } from '@parley/db';
import type { Queryable } from '../audit/audit-repository.ts';

export interface Attachment {
  id: string;
  roomId: number;
  uploaderId: number | null;
  messageSeq: number | null;
  storageKey: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  imageWidth: number | null;
  imageHeight: number | null;
  thumbnailKey: string | null;
  /** A direct upload's staging object (the presigned PUT's target), while one may still appear. */
  uploadKey: string | null;
  state: 'pending' | 'ready';
  createdAt: Date;
}

interface AttachmentRow {
  id: string; room_id: string; uploader_id: string | null; message_seq: string | null; storage_key: string; name: string; content_type: string;
  size_bytes: string; image_width: number | null; image_height: number | null; thumbnail_key: string | null; upload_key: string | null; state: 'pending' | 'ready'; created_at: Date;
}

const toAttachment = (r: AttachmentRow): Attachment => ({
  id: r.id, roomId: Number(r.room_id), uploaderId: r.uploader_id === null ? null : Number(r.uploader_id), messageSeq: r.message_seq === null ? null : Number(r.message_seq),
  storageKey: r.storage_key, name: r.name, contentType: r.content_type, sizeBytes: Number(r.size_bytes), imageWidth: r.image_width, imageHeight: r.image_height,
  thumbnailKey: r.thumbnail_key, uploadKey: r.upload_key, state: r.state, createdAt: r.created_at,
});

export interface NewAttachment {
  id: string;
  roomId: number;
  uploaderId: number;
  storageKey: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  /** Direct uploads: the staging key the presigned PUT writes to. */
  uploadKey?: string;
}

export interface ReadyFacts {
  sizeBytes: number;
  contentType: string;
  image: { width: number; height: number; thumbnailKey: string; thumbnailBytes: number } | null;
}

export interface DoomedObjects {
  id: string;
  keys: string[];
}

export interface UsageRow {
  id: number;
  label: string;
  files: number;
  bytes: number;
}

/**
 * How much longer than a presigned URL's lifetime the sweeper waits for it: the URL's expiry is signed
 * with admin's clock (and checked with the store's), the hold-back counts from created_at, Postgres's
 * clock. A few minutes of disagreement between them must not let a late PUT land after the sweep.
 */
export const URL_CLOCK_MARGIN_MS = 5 * 60_000;

/** The hold-back for `uploadUrlMs`-long URLs (none when no URL is ever signed). */
const holdBackMs = (uploadUrlMs: number): number => (uploadUrlMs > 0 ? uploadUrlMs + URL_CLOCK_MARGIN_MS : 0);

export class AttachmentRepository {
  constructor(private readonly pool: Pool) {}

  /** The new (pending) row, as stored. */
  async insert(a: NewAttachment, db: Queryable = this.pool): Promise<Attachment> {
    const { rows } = await db.query<AttachmentRow>(
      `INSERT INTO attachments (id, room_id, uploader_id, storage_key, name, content_type, size_bytes, upload_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [a.id, a.roomId, a.uploaderId, a.storageKey, a.name, a.contentType, a.sizeBytes, a.uploadKey ?? null],
    );
    return toAttachment(rows[0]!);
  }

  /** A live (not deleted) attachment. */
  async find(id: string): Promise<Attachment | null> {
    const { rows } = await this.pool.query<AttachmentRow>('SELECT * FROM attachments WHERE id = $1 AND deleted_at IS NULL', [id]);
    return rows[0] ? toAttachment(rows[0]) : null;
  }

  /** The row made ready, or null when it was not pending any more (already ready, or deleted). */
  async markReady(id: string, f: ReadyFacts): Promise<Attachment | null> {
    const { rows } = await this.pool.query<AttachmentRow>(
      `UPDATE attachments SET state = 'ready', size_bytes = $2, content_type = $3, image_width = $4, image_height = $5, thumbnail_key = $6, thumbnail_bytes = $7
       WHERE id = $1 AND state = 'pending' AND deleted_at IS NULL RETURNING *`,
      [id, f.sizeBytes, f.contentType, f.image?.width ?? null, f.image?.height ?? null, f.image?.thumbnailKey ?? null, f.image?.thumbnailBytes ?? 0],
    );
    return rows[0] ? toAttachment(rows[0]) : null;
  }

  /**
   * Links the uploader's ready, unsent attachments to their message (the chat send path will call this
   * in the message's transaction). Returns how many were linked: fewer than asked means some were
   * not the sender's, not ready, in another room or already sent.
   */
  async linkToMessage(db: Queryable, ids: string[], roomId: number, seq: number, uploaderId: number): Promise<number> {
    const { rowCount } = await db.query(
      `UPDATE attachments SET message_seq = $3
       WHERE id = ANY($1::uuid[]) AND room_id = $2 AND uploader_id = $4 AND state = 'ready' AND message_seq IS NULL AND deleted_at IS NULL`,
      [ids, roomId, seq, uploaderId],
    );
    return rowCount ?? 0;
  }

  /** Marks the attachments of one message deleted (in the message delete's transaction). */
  async markDeletedForMessage(db: Queryable, roomId: number, seq: number): Promise<number> {
    const { rowCount } = await db.query('UPDATE attachments SET deleted_at = now() WHERE room_id = $1 AND message_seq = $2 AND deleted_at IS NULL', [roomId, seq]);
    return rowCount ?? 0;
  }

  async markDeleted(id: string, db: Queryable = this.pool): Promise<boolean> {
    const { rowCount } = await db.query('UPDATE attachments SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [id]);
    return rowCount === 1;
  }

  /**
   * Marks the uploader's upload deleted only if it is still unsent, in the one statement: a send that
   * linked it after the caller looked keeps it (false), so a sent message never loses its file.
   */
  async markDiscarded(id: string, uploaderId: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE attachments SET deleted_at = now() WHERE id = $1 AND uploader_id = $2 AND message_seq IS NULL AND deleted_at IS NULL',
      [id, uploaderId],
    );
    return rowCount === 1;
  }

  /**
   * Marks deleted what no longer has a reason to exist: attachments of messages deleted elsewhere (chat
   * deletes its own messages without admin) and uploads never sent within `unsentMs`.
   */
  async markOrphansDeleted(unsentMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE attachments a SET deleted_at = now()
       WHERE a.deleted_at IS NULL AND (
         (a.message_seq IS NULL AND a.created_at < now() - make_interval(secs => $1 / 1000.0))
         OR EXISTS (SELECT 1 FROM messages m WHERE m.room_id = a.room_id AND m.seq = a.message_seq AND m.deleted_at IS NOT NULL))`,
      [unsentMs],
    );
    return rowCount ?? 0;
  }

  /**
   * Deleted rows whose objects the sweeper still has to remove. A direct upload (pending or ready: it
   * may be discarded right after completing) waits until its presigned PUT URL (signed just before the
   * row was made, valid `uploadUrlMs`, plus URL_CLOCK_MARGIN_MS) can no longer be used: removed earlier,
   * a late PUT (a cancelled upload's, or a replayed URL) would leave a staging object no row points to.
   */
  async doomed(limit: number, uploadUrlMs = 0): Promise<DoomedObjects[]> {
    const { rows } = await this.pool.query<{ id: string; storage_key: string; thumbnail_key: string | null; upload_key: string | null }>(
      `SELECT id, storage_key, thumbnail_key, upload_key FROM attachments
       WHERE deleted_at IS NOT NULL AND NOT ((upload_key IS NOT NULL OR state = 'pending') AND created_at > now() - make_interval(secs => $2 / 1000.0))
       ORDER BY deleted_at LIMIT $1`,
      [limit, holdBackMs(uploadUrlMs)],
    );
    return rows.map((r) => ({ id: r.id, keys: [r.storage_key, ...(r.thumbnail_key ? [r.thumbnail_key] : []), ...(r.upload_key ? [r.upload_key] : [])] }));
  }

  /** Live, completed direct uploads whose PUT URL has expired (with the margin): their staging object can go for good. */
  async expiredUploadKeys(limit: number, uploadUrlMs: number): Promise<Array<{ id: string; uploadKey: string }>> {
    const { rows } = await this.pool.query<{ id: string; upload_key: string }>(
      `SELECT id, upload_key FROM attachments
       WHERE upload_key IS NOT NULL AND deleted_at IS NULL AND state = 'ready' AND created_at <= now() - make_interval(secs => $2 / 1000.0)
       ORDER BY created_at LIMIT $1`,
      [limit, holdBackMs(uploadUrlMs)],
    );
    return rows.map((r) => ({ id: r.id, uploadKey: r.upload_key }));
  }

  /** Forgets a staging key once its object is gone (no PUT can bring it back). */
  async clearUploadKey(id: string, uploadKey: string): Promise<void> {
    await this.pool.query('UPDATE attachments SET upload_key = NULL WHERE id = $1 AND upload_key = $2', [id, uploadKey]);
  }

  /** Forgets a deleted row once its objects are gone. */
  async forget(id: string): Promise<void> {
    await this.pool.query('DELETE FROM attachments WHERE id = $1 AND deleted_at IS NOT NULL', [id]);
  }

  /** Storage used per uploader and per room (the admin Storage page and its JSON API). */
  async usage(): Promise<{ byUser: UsageRow[]; byRoom: UsageRow[] }> {
    const [byUser, byRoom] = await Promise.all([this.usageByUser(), this.usageByRoom()]);
    return { byUser, byRoom };
  }

  /** Storage used (files and thumbnails) per uploader, largest first. */
  async usageByUser(limit = 100): Promise<UsageRow[]> {
    const { rows } = await this.pool.query<{ id: string; label: string; files: string; bytes: string }>(
      `SELECT u.id, u.handle AS label, count(*) AS files, sum(a.size_bytes + a.thumbnail_bytes) AS bytes
       FROM attachments a JOIN users u ON u.id = a.uploader_id
       WHERE a.deleted_at IS NULL GROUP BY u.id, u.handle ORDER BY bytes DESC, u.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), label: r.label, files: Number(r.files), bytes: Number(r.bytes) }));
  }

  /** Storage used per room, largest first (direct conversations are labelled by kind, not by members). */
  async usageByRoom(limit = 100): Promise<UsageRow[]> {
    const { rows } = await this.pool.query<{ id: string; label: string; files: string; bytes: string }>(
      `SELECT r.id, CASE WHEN r.kind = 'direct' THEN 'direct conversation' ELSE r.name END AS label, count(*) AS files, sum(a.size_bytes + a.thumbnail_bytes) AS bytes
       FROM attachments a JOIN rooms r ON r.id = a.room_id
       WHERE a.deleted_at IS NULL GROUP BY r.id ORDER BY bytes DESC, r.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), label: r.label, files: Number(r.files), bytes: Number(r.bytes) }));
  }
}
