// Uploads of files into a room for the composer: one multipart POST per file through admin, with
// XMLHttpRequest because fetch reports no upload progress. Each upload can be cancelled (abort).
import type { AttachmentRef } from '@parley/protocol';
import { csrfToken } from '../csrf.ts';

export interface UploadHandle {
  /** Resolves with the stored file, or rejects with an UploadError (never for a cancel: see `cancelled`). */
  done: Promise<AttachmentRef>;
  abort: () => void;
}

export class UploadError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export class UploadCancelled extends Error {
  constructor() {
    super('upload cancelled');
  }
}

/** The stored attachment as admin's upload route answers it. */
interface UploadedView {
  id: string;
  name: string;
  size: number;
  contentType: string;
  image: { width: number; height: number } | null;
}

/** What people read when an upload is refused: the server's sentence when it gave one. */
function describeFailure(status: number, body: string, name: string): string {
  let serverSays = '';
  try {
    serverSays = (JSON.parse(body) as { error?: string }).error ?? '';
  } catch {
    // not JSON (a proxy's error page): use the generic sentence below
  }
  if (status === 413) return `${name} is too large. ${serverSays}`.trim();
  if (status === 403) return `${name} was not uploaded: ${serverSays || 'you cannot post in this conversation.'}`;
  if (status === 0) return `${name} was not uploaded: the server did not answer.`;
  return `${name} was not uploaded: ${serverSays || `HTTP ${status}`}`;
}

export function uploadFile(roomId: number, file: File, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<AttachmentRef>((resolve, reject) => {
    xhr.open('POST', `/api/rooms/${roomId}/attachments`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status !== 201) return reject(new UploadError(describeFailure(xhr.status, xhr.responseText, file.name), xhr.status));
      const view = JSON.parse(xhr.responseText) as UploadedView;
      const ref: AttachmentRef = { id: view.id, name: view.name, size: view.size, contentType: view.contentType };
      if (view.image) ref.image = { width: view.image.width, height: view.image.height };
      onProgress(1);
      resolve(ref);
    };
    xhr.onerror = () => reject(new UploadError(describeFailure(0, '', file.name), 0));
    xhr.onabort = () => reject(new UploadCancelled());
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

/** Files from a paste or a drop (images pasted from the clipboard get a name). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const files = Array.from(data.files);
  if (files.length) return files;
  return Array.from(data.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter((f): f is File => f !== null);
}
