// The files of a message: images as thumbnails that open the full image, anything else as a card with
// its name, size and type and a download link. Sizes come with the message, so the thumbnail's box is
// reserved before it loads (no layout shift). Downloads are served by admin with an access check, as
// attachments (never rendered) unless they are raster images.
import type { AttachmentRef } from '@parley/protocol';
import { formatBytes } from '../../features/attachments/format-bytes.ts';

/** The thumbnail's box: the image scaled to fit, never enlarged. */
const BOX = { width: 320, height: 240 };

export function thumbnailSize(image: { width: number; height: number }): { width: number; height: number } {
  const scale = Math.min(1, BOX.width / image.width, BOX.height / image.height);
  return { width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)) };
}

export function Attachments({ items }: { items: AttachmentRef[] }) {
  return (
    <ul class="attachments" aria-label="Attachments">
      {items.map((a) => <li key={a.id}>{a.image ? <ImageAttachment attachment={a} image={a.image} /> : <FileCard attachment={a} />}</li>)}
    </ul>
  );
}

function ImageAttachment({ attachment, image }: { attachment: AttachmentRef; image: { width: number; height: number } }) {
  const box = thumbnailSize(image);
  return (
    <a class="attachment-image" href={`/api/attachments/${attachment.id}`} target="_blank" rel="noopener"
      aria-label={`${attachment.name}, image ${image.width}×${image.height}; open full size`}>
      <img src={`/api/attachments/${attachment.id}/thumbnail`} width={box.width} height={box.height} alt={attachment.name} loading="lazy" decoding="async" />
    </a>
  );
}

function FileCard({ attachment }: { attachment: AttachmentRef }) {
  return (
    <div class="attachment-file">
      <span class="attachment-name" dir="auto">{attachment.name}</span>
      <span class="attachment-meta muted">{formatBytes(attachment.size)} · {attachment.contentType || 'file'}</span>
      <a class="attachment-download" href={`/api/attachments/${attachment.id}`} download={attachment.name}
        aria-label={`Download ${attachment.name} (${formatBytes(attachment.size)})`}>Download</a>
    </div>
  );
}
