// Images: what the server decodes itself decides whether a file is an image (never the name or the
// type the browser claimed). The full-size image is re-encoded and its thumbnail made here with sharp:
// EXIF orientation applied, and no metadata (EXIF with GPS positions, XMP, IPTC, comments) copied
// into either, so a photo never tells where it was taken.
import type { Readable } from 'node:stream';
import sharp, { type Sharp } from 'sharp';

/** Types served inline (as <img>): raster formats browsers never run script from. Never SVG. */
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const FORMAT_TYPES: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

export const THUMBNAIL_MAX_PX = 480;
export const THUMBNAIL_TYPE = 'image/webp';
// Refuse decompression bombs: 50 megapixels is far beyond any photo a chat needs to preview.
const MAX_INPUT_PIXELS = 50_000_000;

/** The signatures of the four raster formats (WebP: "RIFF", 4 bytes of size, "WEBP"). */
export function looksLikeImage(head: Buffer): boolean {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => head[at + i] === b);
  return starts([0x89, 0x50, 0x4e, 0x47]) || starts([0xff, 0xd8, 0xff]) || starts([0x47, 0x49, 0x46, 0x38])
    || (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8));
}

export interface ImageFacts {
  contentType: string;
  /** As displayed: after the EXIF orientation is applied. */
  width: number;
  height: number;
  /** The full-size image in its own format, upright, without metadata: what is stored and served. */
  full: Buffer;
  thumbnail: Buffer;
}

/**
 * The image facts and a thumbnail of the stream's bytes, or null when they are not a PNG, JPEG, GIF or
 * WebP image sharp can decode (the file is then an ordinary attachment).
 */
export async function describeImage(body: Readable): Promise<ImageFacts | null> {
  // Buffered (at most ATTACHMENT_MAX_BYTES; sharp decodes from memory anyway), but only once the first
  // bytes say PNG, JPEG, GIF or WebP: other files are not read further.
  const chunks: Buffer[] = [];
  let length = 0;
  let checked = false;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (!checked && length >= 12) {
      checked = true;
      if (!looksLikeImage(Buffer.concat(chunks).subarray(0, 12))) {
        body.destroy();
        return null;
      }
    }
  }
  const bytes = Buffer.concat(chunks);
  if (!looksLikeImage(bytes.subarray(0, 12))) return null;
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    const contentType = meta.format ? FORMAT_TYPES[meta.format] : undefined;
    if (!contentType || !meta.width || !meta.height) return null;
    const animated = (meta.pages ?? 1) > 1;
    const upright = (input: Sharp) => ((meta.orientation ?? 1) > 1 ? input.rotate() : input);
    const full = await upright(sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, animated }))
      .toFormat(meta.format, meta.format === 'jpeg' || meta.format === 'webp' ? { quality: 90 } : {})
      .toBuffer();
    const thumbnail = await upright(sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }))
      .resize({ width: THUMBNAIL_MAX_PX, height: THUMBNAIL_MAX_PX, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    // Orientations 5-8 swap width and height.
    const swapped = (meta.orientation ?? 1) >= 5;
    return { contentType, width: swapped ? meta.height : meta.width, height: swapped ? meta.width : meta.height, full, thumbnail };
  } catch {
    return null;
  }
}
