// The small rules behind file responses: names, declared types, Content-Disposition, inline images,
// which uploads are worth decoding as images, and that every object stream opened is let go.
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { AttachmentService, cleanContentType, cleanFileName, contentDisposition, isInlineImage, TooLargeError } from './service.ts';
import type { Attachment, AttachmentRepository } from './attachment-repository.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import type { ObjectStore } from './storage/storage.ts';
import { looksLikeImage } from './images.ts';

describe('attachment names and types', () => {
  it('keeps the base name only, without control characters or quotes, at most 255 characters', () => {
    expect(cleanFileName('C:\\Users\\ann\\report.pdf')).toBe('report.pdf');
    expect(cleanFileName('../../etc/passwd')).toBe('passwd');
    expect(cleanFileName('a\u0000b\r\nc"d.txt')).toBe('abcd.txt');
    expect(cleanFileName('..')).toBe('file');
    expect(cleanFileName('')).toBe('file');
    expect([...cleanFileName('é'.repeat(400))]).toHaveLength(255);
  });

  it('accepts well-formed media types only', () => {
    expect(cleanContentType('Text/HTML; charset=utf-8')).toBe('text/html');
    expect(cleanContentType('image/svg+xml')).toBe('image/svg+xml');
    expect(cleanContentType(undefined)).toBe('application/octet-stream');
    expect(cleanContentType('text/html\r\nx-evil: 1')).toBe('application/octet-stream');
    expect(cleanContentType('nonsense')).toBe('application/octet-stream');
  });

  it('writes Content-Disposition with an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('attachment', 'report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('inline', 'Ünïcødé "quoted" (1).png')).toBe(
      `inline; filename="_n_c_d_ _quoted_ (1).png"; filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%22quoted%22%20%281%29.png`,
    );
  });

  it('shows inline only raster images the server decoded, never SVG or a claimed type', () => {
    expect(isInlineImage({ contentType: 'image/png', imageWidth: 10 })).toBe(true);
    expect(isInlineImage({ contentType: 'image/png', imageWidth: null })).toBe(false);
    expect(isInlineImage({ contentType: 'image/svg+xml', imageWidth: 10 })).toBe(false);
    expect(isInlineImage({ contentType: 'text/html', imageWidth: 10 })).toBe(false);
  });
});

describe('image signatures', () => {
  it('recognizes PNG, JPEG, GIF and WebP by their first bytes only', () => {
    const head = (...bytes: Array<number | string>) => Buffer.concat(bytes.map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from([b]))));
    expect(looksLikeImage(head(0x89, 'PNG\r\n\u001a\n', 0, 0, 0, 0))).toBe(true);
    expect(looksLikeImage(head(0xff, 0xd8, 0xff, 0xe0, 'JFIF\u0000\u0001\u0001'))).toBe(true);
    expect(looksLikeImage(head('GIF89a', 1, 0, 1, 0, 0, 0))).toBe(true);
    expect(looksLikeImage(head('RIFF', 1, 2, 3, 4, 'WEBP'))).toBe(true);
    expect(looksLikeImage(head('RIFF', 1, 2, 3, 4, 'WAVE'))).toBe(false);
    expect(looksLikeImage(head('<svg xmlns="h'))).toBe(false);
    expect(looksLikeImage(head('%PDF-1.7\n%abc'))).toBe(false);
  });
});

describe('reading stored objects', () => {
  /** A store whose objects are `bytes`, handed out as streams this test can inspect afterwards. */
  function storeOf(bytes: Buffer) {
    const opened: Readable[] = [];
    const store = {
      kind: 's3',
      head: () => Promise.resolve({ size: bytes.length, contentType: null }),
      get: () => {
        // Many small chunks, as a socket delivers them: a reader that stops early leaves most unread.
        const body = Readable.from((function* () {
          for (let at = 0; at < bytes.length; at += 1024) yield bytes.subarray(at, at + 1024);
        })(), { objectMode: false });
        opened.push(body);
        return Promise.resolve(body);
      },
      put: async (_key: string, body: Readable) => {
        for await (const _ of body) void _;
      },
      delete: () => Promise.resolve(),
    } as unknown as ObjectStore;
    return { store, opened };
  }
  const pending: Attachment = {
    id: '00000000-0000-4000-8000-000000000001', roomId: 1, uploaderId: 7, messageSeq: null, storageKey: 'rooms/1/x', name: 'notes.txt', contentType: 'text/plain',
    sizeBytes: 0, imageWidth: null, imageHeight: null, thumbnailKey: null, uploadKey: 'uploads/x', state: 'pending', createdAt: new Date(),
  };
  const serviceWith = (store: ObjectStore, maxBytes: number) => new AttachmentService({
    rooms: {} as RoomRepository, store, maxBytes, urlTtlSeconds: 60, presignedUploads: true, presignedDownloads: false,
    attachments: { find: () => Promise.resolve(pending), markReady: () => Promise.resolve({ ...pending, state: 'ready' }), markDeleted: () => Promise.resolve(true) } as unknown as AttachmentRepository,
  });
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  it('destroys every object stream it opened, also when it stops after the first bytes of a non-image', async () => {
    const { store, opened } = storeOf(Buffer.alloc(256 * 1024, 'a'));
    await serviceWith(store, 1024 * 1024).completeDirectUpload({ id: 7 }, pending.id);
    await settled();
    expect(opened).toHaveLength(2); // looked at, then copied
    for (const body of opened) expect(body.destroyed).toBe(true);
  });

  it('answers a completed upload even when its staging object cannot be deleted (logged once; the sweeper retries)', async () => {
    const { store } = storeOf(Buffer.from('a small text file'));
    const warnings: unknown[][] = [];
    const service = new AttachmentService({
      rooms: {} as RoomRepository, maxBytes: 1024, urlTtlSeconds: 60, presignedUploads: true, presignedDownloads: false,
      store: { ...store, delete: () => Promise.reject(new Error('store unavailable')) },
      attachments: { find: () => Promise.resolve(pending), markReady: () => Promise.resolve({ ...pending, state: 'ready' }) } as unknown as AttachmentRepository,
      log: { warn: (...args: unknown[]) => void warnings.push(args) },
    });
    await expect(service.completeDirectUpload({ id: 7 }, pending.id)).resolves.toMatchObject({ state: 'ready', uploadKey: 'uploads/x' });
    expect(warnings).toHaveLength(1);
  });

  it('destroys the object stream when it turns out larger than the limit', async () => {
    const { store, opened } = storeOf(Buffer.alloc(256 * 1024, 'a'));
    // head() says it fits; the object itself is larger (a store that ignored the signed length).
    const service = serviceWith({ ...store, head: () => Promise.resolve({ size: 10, contentType: null }) }, 64 * 1024);
    await expect(service.completeDirectUpload({ id: 7 }, pending.id)).rejects.toBeInstanceOf(TooLargeError);
    await settled();
    for (const body of opened) expect(body.destroyed).toBe(true);
  });
});
