// Uploads of files into a room for the composer. When the server offers it (the S3 store), the file
// goes straight to the bucket: admin signs a PUT URL (POST …/attachments/direct), the browser PUTs the
// bytes there, then asks admin to check them (POST /api/attachments/:id/complete). Otherwise (the
// folder store answers `upload: null`) it is one multipart POST through admin. A PUT that gets no
// answer at all (status 0: the bucket has no CORS rule for Parley's origin, mixed content, a network
// that cannot reach it) falls back, once, to that multipart POST, so such a deployment keeps working.
// Both transfers use XMLHttpRequest because fetch reports no upload progress. Each upload can be
// cancelled (abort); a direct upload cancelled or failed after admin made its row is discarded at
// once (DELETE).
import type { AttachmentRef } from '@parley/protocol';
import { csrfToken } from '../csrf.ts';

export interface UploadHandle {
  /** Resolves with the stored file, or rejects with an UploadError (or UploadCancelled after abort). */
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

/** The stored attachment as admin's upload routes answer it. */
interface UploadedView {
  id: string;
  name: string;
  size: number;
  contentType: string;
  image: { width: number; height: number } | null;
}

/** Admin's answer to a direct upload request: where to PUT the bytes, or null (use the multipart POST). */
interface DirectOffer {
  attachment: UploadedView | null;
  upload: { url: string; method: 'PUT'; headers: Record<string, string> } | null;
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

/** The same for the bucket (its errors are XML for machines, not sentences for people). */
function describeStoreFailure(status: number, name: string): string {
  if (status === 403) return `${name} was not uploaded: the file storage refused it (the upload link may have expired). Try again.`;
  return `${name} was not uploaded: the file storage answered HTTP ${status}.`;
}

const toRef = (view: UploadedView): AttachmentRef => {
  const ref: AttachmentRef = { id: view.id, name: view.name, size: view.size, contentType: view.contentType };
  if (view.image) ref.image = { width: view.image.width, height: view.image.height };
  return ref;
};

/** One XMLHttpRequest as a promise of its status and text (status 0: no answer); abortable. */
function transfer(
  req: { method: string; url: string; headers: Record<string, string>; body: XMLHttpRequestBodyInit | null; credentials: boolean },
  onProgress: ((fraction: number) => void) | null, started: (xhr: XMLHttpRequest) => void,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(req.method, req.url);
    xhr.withCredentials = req.credentials;
    for (const [name, value] of Object.entries(req.headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
      };
    }
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => resolve({ status: 0, text: '' });
    xhr.onabort = () => reject(new UploadCancelled());
    started(xhr);
    xhr.send(req.body);
  });
}

const adminHeaders = (): Record<string, string> => ({ accept: 'application/json', 'x-csrf-token': csrfToken() });

/** Removes an upload not sent (a cancelled or failed one); best effort, the sweeper removes the rest. */
export function discardUpload(id: string): void {
  void fetch(`/api/attachments/${encodeURIComponent(id)}`, { method: 'DELETE', headers: adminHeaders(), keepalive: true }).catch(() => undefined);
}

export function uploadFile(roomId: number, file: File, onProgress: (fraction: number) => void): UploadHandle {
  let current: XMLHttpRequest | null = null;
  let cancelled = false;
  const track = (xhr: XMLHttpRequest) => {
    current = xhr;
    if (cancelled) xhr.abort();
  };
  const admin = (method: string, url: string, body: XMLHttpRequestBodyInit | null, headers: Record<string, string> = {}, progress: ((f: number) => void) | null = null, started = track) =>
    transfer({ method, url, headers: { ...adminHeaders(), ...headers }, body, credentials: true }, progress, started);

  /** `afterDirect`: the bucket could not be reached (admin logs it, so operators learn of it). */
  const viaAdmin = async (afterDirect = false): Promise<AttachmentRef> => {
    const form = new FormData();
    form.append('file', file, file.name);
    const res = await admin('POST', `/api/rooms/${roomId}/attachments${afterDirect ? '?fallback=direct' : ''}`, form, {}, onProgress);
    if (res.status !== 201) throw new UploadError(describeFailure(res.status, res.text, file.name), res.status);
    return toRef(JSON.parse(res.text) as UploadedView);
  };

  /** The stored file, or null when the bucket gave no answer to the PUT (the caller falls back). */
  const direct = async (id: string, upload: NonNullable<DirectOffer['upload']>): Promise<AttachmentRef | null> => {
    const put = await transfer({ method: upload.method, url: upload.url, headers: upload.headers, body: file, credentials: false }, onProgress, track);
    if (put.status === 0) return null;
    if (put.status < 200 || put.status >= 300) throw new UploadError(describeStoreFailure(put.status, file.name), put.status);
    const res = await admin('POST', `/api/attachments/${encodeURIComponent(id)}/complete`, null);
    if (res.status !== 200) throw new UploadError(describeFailure(res.status, res.text, file.name), res.status);
    return toRef(JSON.parse(res.text) as UploadedView);
  };

  const run = async (): Promise<AttachmentRef> => {
    // Not aborted by a cancel: its answer names the row to discard (a cancel is honoured right after).
    const ask = await admin('POST', `/api/rooms/${roomId}/attachments/direct`, JSON.stringify({ name: file.name || 'file', type: file.type, size: file.size }), { 'content-type': 'application/json' }, null, () => undefined);
    const offer = ask.status === 200 || ask.status === 201 ? (JSON.parse(ask.text) as DirectOffer) : null;
    if (cancelled) {
      if (offer?.attachment) discardUpload(offer.attachment.id);
      throw new UploadCancelled();
    }
    if (!offer) throw new UploadError(describeFailure(ask.status, ask.text, file.name), ask.status);
    if (!offer.upload || !offer.attachment) return viaAdmin();
    const id = offer.attachment.id;
    let stored: AttachmentRef | null;
    try {
      stored = await direct(id, offer.upload);
    } catch (err) {
      discardUpload(id); // its row (and anything that reached the bucket) must not wait for the day-long sweep
      throw err;
    }
    if (stored) return stored;
    discardUpload(id);
    onProgress(0); // the bytes go again, through admin
    return viaAdmin(true);
  };

  const done = run().then((ref) => {
    onProgress(1);
    return ref;
  });
  return {
    done,
    abort: () => {
      cancelled = true;
      current?.abort();
    },
  };
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
