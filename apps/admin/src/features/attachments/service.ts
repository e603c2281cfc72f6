// The rules of attachments: who may upload into a room (people who may post there), who may download
// (people who may read the room, checked again on every request), what is an inline image, and how
// deleted files leave the store (marked in Postgres first, removed by the sweeper).
import { randomUUID } from 'node:crypto';
import type { Logger } from '@parley/logging';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { User } from '../users/user-repository.ts';
import type { Room, RoomRepository } from '../rooms/room-repository.ts';
import { Refusal } from '../refusal.ts';
import type { Attachment, AttachmentRepository } from './attachment-repository.ts';
import type { ObjectStore, PresignedUpload } from './storage/storage.ts';
import { describeImage, INLINE_IMAGE_TYPES, THUMBNAIL_TYPE } from './images.ts';
import { formatBytes } from './format-bytes.ts';

export interface AttachmentServiceDeps {
  rooms: RoomRepository;
  attachments: AttachmentRepository;
  store: ObjectStore;
  maxBytes: number;
  urlTtlSeconds: number;
  presignedUploads: boolean;
  presignedDownloads: boolean;
  /** Where a best-effort step that failed is reported (tests may leave it out). */
  log?: Pick<Logger, 'warn'>;
}

/** A file larger than ATTACHMENT_MAX_BYTES (answered 413). */
export class TooLargeError extends Error {
  readonly statusCode = 413;
  constructor(readonly maxBytes: number) {
    super(`Files can be at most ${formatBytes(maxBytes)}.`);
    this.name = 'TooLargeError';
  }
}

/** The name shown and offered on download: no folders, no control characters, at most 255 characters. */
export function cleanFileName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = [...base.replace(/[\u0000-\u001f\u007f"]/g, '').trim()].slice(0, 255).join('');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'file' : cleaned;
}

/** A declared media type if it is well formed, else application/octet-stream. */
export function cleanContentType(raw: string | undefined): string {
  const type = (raw ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type) && type.length <= 127 ? type : 'application/octet-stream';
}

/** `attachment` (or `inline`) with an ASCII fallback name and the exact name in RFC 5987 form. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/[\\"]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** Shown inline only when the server decoded it as one of the raster types browsers never run. */
export const isInlineImage = (a: Pick<Attachment, 'contentType' | 'imageWidth'>) => a.imageWidth !== null && INLINE_IMAGE_TYPES.has(a.contentType);

/** Counts bytes through, and fails the stream as soon as there are more than `max`. */
class SizeLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new TooLargeError(this.max));
    done(null, chunk);
  }
}

/** Where an original's thumbnail is kept (the sweeper also removes it for rows that never recorded it). */
export const thumbnailKeyOf = (originalKey: string): string => `${originalKey}.thumb.webp`;

/** Where a direct upload's presigned PUT writes: never served, copied from at /complete. */
export const stagingKeyOf = (id: string): string => `uploads/${id}`;

export interface AttachmentView {
  id: string;
  roomId: number;
  name: string;
  contentType: string;
  size: number;
  image: { width: number; height: number; thumbnailUrl: string } | null;
  url: string;
  state: 'pending' | 'ready';
}

export function viewOf(a: Attachment): AttachmentView {
  return {
    id: a.id, roomId: a.roomId, name: a.name, contentType: a.contentType, size: a.sizeBytes, state: a.state,
    image: isInlineImage(a) && a.thumbnailKey ? { width: a.imageWidth!, height: a.imageHeight!, thumbnailUrl: `/api/attachments/${a.id}/thumbnail` } : null,
    url: `/api/attachments/${a.id}`,
  };
}

export type Download =
  | { kind: 'stream'; body: Readable; contentType: string; disposition: string; size: number | null }
  | { kind: 'redirect'; url: string };

export class AttachmentService {
  constructor(private readonly d: AttachmentServiceDeps) {}

  get maxBytes(): number {
    return this.d.maxBytes;
  }

  /** The room if this person may post in it now: may read it, it is not archived, they are not muted. */
  async postableRoom(user: Pick<User, 'id'>, roomId: number): Promise<Room> {
    const room = await this.d.rooms.findVisible(roomId, user.id);
    if (!room) throw new Refusal(404, 'This room does not exist or you are not a member.');
    if (room.archivedAt) throw new Refusal(403, 'This room is archived; it is read-only.');
    const muted = await this.d.rooms.mutedUntil(roomId, user.id);
    if (muted) throw new Refusal(403, `You are muted in this room until ${muted.toISOString()}.`);
    return room;
  }

  private static keysFor(roomId: number, id: string) {
    const original = `rooms/${roomId}/${id}`;
    return { original, thumbnail: thumbnailKeyOf(original) };
  }

  /**
   * Bytes of `body` past ATTACHMENT_MAX_BYTES fail the stream (a store that ignored the signed length).
   * Joined with pipeline(), not pipe(): when the reader stops early (describeImage after the first bytes
   * of a non-image) or the limit fails, `body` is destroyed too; left open it would keep a file
   * descriptor (fs) or one of the S3 client's pooled sockets (an unread GetObject body) for good.
   */
  private limited(body: Readable): SizeLimit {
    const limit = new SizeLimit(this.d.maxBytes);
    // Its consumer sees any error on `limit` itself (a source error destroys `limit` with it); see upload().
    limit.on('error', () => undefined);
    pipeline(body, limit, () => undefined);
    return limit;
  }

  /** Streams one uploaded file into the store (through admin), then checks it. */
  async upload(user: Pick<User, 'id'>, roomId: number, file: { name: string; contentType: string | undefined; body: Readable }): Promise<Attachment> {
    try {
      await this.postableRoom(user, roomId);
    } catch (err) {
      file.body.resume(); // drain, so the reply can be sent
      throw err;
    }
    const id = randomUUID();
    const keys = AttachmentService.keysFor(roomId, id);
    const contentType = cleanContentType(file.contentType);
    // The row first: if we crash while the bytes are being stored, the sweeper finds and removes them.
    await this.d.attachments.insert({ id, roomId, uploaderId: user.id, storageKey: keys.original, name: cleanFileName(file.name), contentType, sizeBytes: 0 });
    const limit = new SizeLimit(this.d.maxBytes);
    file.body.on('error', (err) => limit.destroy(err));
    // The store's consumer sees the error through its own pipeline; this listener keeps a second
    // emission (after that pipeline has let go) from becoming an uncaught exception.
    limit.on('error', () => undefined);
    try {
      await this.d.store.put(keys.original, file.body.pipe(limit), { contentType });
    } catch (err) {
      await this.d.attachments.markDeleted(id);
      throw err;
    }
    return this.finish(id, roomId, keys.original, limit.bytes, contentType);
  }

  /**
   * Starts a direct upload to the store: a pending row and a presigned PUT URL, or null when the store
   * cannot sign one (or direct uploads are off): the client then uses the multipart route.
   */
  async startDirectUpload(user: Pick<User, 'id'>, roomId: number, file: { name: string; contentType: string | undefined; size: number }): Promise<{ attachment: Attachment; upload: PresignedUpload } | null> {
    if (file.size > this.d.maxBytes) throw new TooLargeError(this.d.maxBytes);
    await this.postableRoom(user, roomId);
    if (!this.d.presignedUploads) return null;
    const id = randomUUID();
    const keys = AttachmentService.keysFor(roomId, id);
    const contentType = cleanContentType(file.contentType);
    // The URL writes to a staging key, never to what is served: it stays valid after /complete, and a
    // PUT replayed then (the original again, with its EXIF) must not replace the checked, re-encoded file.
    const uploadKey = stagingKeyOf(id);
    const upload = await this.d.store.presignPut(uploadKey, { contentType, size: file.size, expiresInSeconds: this.d.urlTtlSeconds });
    if (!upload) return null;
    const attachment = await this.d.attachments.insert({ id, roomId, uploaderId: user.id, storageKey: keys.original, uploadKey, name: cleanFileName(file.name), contentType, sizeBytes: file.size });
    return { attachment, upload };
  }

  /**
   * The uploader says the direct upload is done: check the staging object, copy it (images re-encoded)
   * to the key that is served, make the thumbnail, then delete the staging object.
   */
  async completeDirectUpload(user: Pick<User, 'id'>, id: string): Promise<Attachment> {
    const a = await this.d.attachments.find(id);
    if (!a || a.uploaderId !== user.id) throw new Refusal(404, 'There is no such upload.');
    if (a.state === 'ready') return a;
    // No staging key: the previous release started this upload (during a rolling deploy) and signed
    // its PUT for the served key itself, so it is checked and finished in place, as that release did.
    // (An upload through admin has no staging key either; until its bytes are stored head() finds
    // nothing, and once they are it has made itself ready.)
    const sourceKey = a.uploadKey ?? a.storageKey;
    const stored = await this.d.store.head(sourceKey);
    if (!stored) throw new Refusal(409, 'The file has not been uploaded yet.');
    if (stored.size > this.d.maxBytes) {
      await this.d.attachments.markDeleted(id);
      throw new TooLargeError(this.d.maxBytes);
    }
    const ready = await this.finish(id, a.roomId, sourceKey, stored.size, a.contentType).catch(async (err: unknown) => {
      if (err instanceof TooLargeError) await this.d.attachments.markDeleted(id); // grew after the check above
      throw err;
    });
    if (a.uploadKey) await this.dropStagingObject(a.uploadKey);
    return ready;
  }

  /**
   * Best effort: the upload is ready whatever happens here, and failing /complete now would make the
   * client drop a good upload. A staging object left behind keeps its upload_key, so the sweeper
   * deletes it once the URL has expired (as it does one a replayed PUT recreates).
   */
  private async dropStagingObject(uploadKey: string): Promise<void> {
    try {
      await this.d.store.delete(uploadKey);
    } catch (err) {
      this.d.log?.warn({ err: (err as Error).message, uploadKey }, 'deleting a staging upload failed; the sweeper retries');
    }
  }

  /**
   * Decodes images (the thumbnail, the real type and dimensions), stores what is served under the
   * final key (read from `sourceKey`: the final key itself for uploads through admin, the staging key
   * for direct ones), and marks the row ready.
   */
  private async finish(id: string, roomId: number, sourceKey: string, uploadedSize: number, declaredType: string): Promise<Attachment> {
    const keys = AttachmentService.keysFor(roomId, id);
    const body = await this.d.store.get(sourceKey);
    if (!body) throw new Refusal(409, 'The file has not been uploaded yet.');
    const image = await describeImage(this.limited(body));
    // A file claiming to be an image that does not decode as one is an ordinary download.
    const contentType = image ? image.contentType : declaredType.startsWith('image/') ? 'application/octet-stream' : declaredType;
    let size = image ? image.full.length : uploadedSize;
    if (image) {
      // The upright, metadata-free image is what is kept (a put replaces a same-key upload whole).
      await this.d.store.put(keys.original, Readable.from([image.full]), { contentType });
      await this.d.store.put(keys.thumbnail, Readable.from([image.thumbnail]), { contentType: THUMBNAIL_TYPE });
    } else if (sourceKey !== keys.original) {
      const again = await this.d.store.get(sourceKey);
      if (!again) throw new Refusal(409, 'The file has not been uploaded yet.');
      const copy = this.limited(again);
      await this.d.store.put(keys.original, copy, { contentType });
      size = copy.bytes; // what was copied, should the staging object have changed since it was checked
    }
    const ready = await this.d.attachments.markReady(id, {
      sizeBytes: size, contentType,
      image: image ? { width: image.width, height: image.height, thumbnailKey: keys.thumbnail, thumbnailBytes: image.thumbnail.length } : null,
    });
    if (ready) return ready;
    // Not pending any more: a concurrent complete made it ready first (the row as it stands), or the
    // uploader discarded it meanwhile (the sweeper removes its objects, the thumbnail too).
    const current = await this.d.attachments.find(id);
    if (!current) throw new Refusal(404, 'There is no such upload.');
    return current;
  }

  /**
   * An attachment this person may read now: its room is public or they are a member (checked on every
   * request, so someone removed from a private room loses access at once: 403); unsent uploads only for
   * their uploader (404 for everyone else, as for ids that do not exist).
   */
  async readable(user: Pick<User, 'id'>, id: string): Promise<Attachment> {
    const a = /^[0-9a-f-]{36}$/i.test(id) ? await this.d.attachments.find(id) : null;
    const room = a ? await this.d.rooms.findVisible(a.roomId, user.id) : null;
    if (!a || !room || a.state !== 'ready' || (a.messageSeq === null && a.uploaderId !== user.id)) {
      // A private room's file for a non-member: forbidden, without saying more than that.
      if (a && !room) throw new Refusal(403, 'You cannot open files of this room.');
      throw new Refusal(404, 'There is no such file.');
    }
    return a;
  }

  async download(user: Pick<User, 'id'>, id: string, variant: 'original' | 'thumbnail'): Promise<Download> {
    const a = await this.readable(user, id);
    const key = variant === 'thumbnail' ? a.thumbnailKey : a.storageKey;
    if (!key) throw new Refusal(404, 'This file has no thumbnail.');
    const contentType = variant === 'thumbnail' ? THUMBNAIL_TYPE : a.contentType;
    const inline = variant === 'thumbnail' || isInlineImage(a);
    const disposition = contentDisposition(inline ? 'inline' : 'attachment', variant === 'thumbnail' ? `${a.name}.webp` : a.name);
    if (this.d.presignedDownloads) {
      const url = await this.d.store.presignGet(key, { contentType, contentDisposition: disposition, expiresInSeconds: this.d.urlTtlSeconds });
      if (url) return { kind: 'redirect', url };
    }
    const body = await this.d.store.get(key);
    if (!body) throw new Refusal(404, 'This file is no longer stored.');
    return { kind: 'stream', body, contentType, disposition, size: variant === 'thumbnail' ? null : a.sizeBytes };
  }

  /** The uploader removes an upload not sent yet (the sweeper removes its objects). */
  async discard(user: Pick<User, 'id'>, id: string): Promise<void> {
    const a = await this.d.attachments.find(id);
    if (!a || a.uploaderId !== user.id || a.messageSeq !== null) throw new Refusal(404, 'There is no such upload.');
    // Re-checked in the UPDATE: a send may link it between the look above and now.
    if (!(await this.d.attachments.markDiscarded(id, user.id))) throw new Refusal(404, 'There is no such upload.');
  }
}
