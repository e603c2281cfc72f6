// The small rules behind file responses: names, declared types, Content-Disposition, inline images,
// and which uploads are worth decoding as images.
import { describe, expect, it } from 'vitest';
import { cleanContentType, cleanFileName, contentDisposition, isInlineImage } from './service.ts';
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
