// The composer: Enter sends, Shift+Enter adds a line; a byte counter appears near the server's limit
// and a message over it is refused here, keeping its text (nothing is ever cut); Up in an empty
// composer edits your last message; @ opens handle completion; the draft of every conversation is kept
// across reloads. Files are attached with the button, by pasting or by dropping them on the conversation:
// each uploads at once (with progress and a cancel), and the message carries the finished ones.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AttachmentRef, UserRef } from '@parley/protocol';
import { MAX_ATTACHMENTS_PER_MESSAGE, REPLY_EXCERPT_CHARS, utf8Length } from '@parley/protocol/wire';
import { UploadCancelled, discardUpload, filesOf, uploadFile } from './uploads.ts';
import { formatBytes } from '../../features/attachments/format-bytes.ts';
import type { ChatStore, RoomState } from '../store.ts';
import { displayName } from '../store.ts';
import { loadDraft, saveDraft } from './drafts.ts';

interface Props {
  store: ChatStore;
  room: RoomState;
  /** Why the composer is locked (archived, muted, removed, signed out), or null. */
  lockedReason: string | null;
  onEditLast: () => void;
  inputRef: { current: HTMLTextAreaElement | null };
}

interface Suggestion {
  handle: string;
  displayName: string;
}

/** One file attached to the draft: uploading (with its progress), uploaded, or refused. */
interface DraftFile {
  key: number;
  name: string;
  size: number;
  progress: number;
  status: 'uploading' | 'ready' | 'failed';
  ref?: AttachmentRef;
  error?: string;
  abort?: () => void;
}

let nextFileKey = 1;

/** A failed send taken back for editing: its text and its (already uploaded) files. */
export interface RestoredDraft {
  body: string;
  attachments: AttachmentRef[];
}

const MENTION_QUERY = /(^|[^A-Za-z0-9_])@([a-z0-9_]{0,32})$/i;

export function Composer({ store, room, lockedReason, onEditLast, inputRef }: Props) {
  const roomId = room.conv.id;
  const [text, setText] = useState(() => loadDraft(store.me.id, roomId));
  const [error, setError] = useState<string | null>(null);
  const [suggest, setSuggest] = useState<{ items: Suggestion[]; index: number; start: number } | null>(null);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastTyping = useRef(0);
  const [files, setFiles] = useState<DraftFile[]>([]);
  const filesRef = useRef(files);
  filesRef.current = files;
  const fileInput = useRef<HTMLInputElement | null>(null);

  const patchFile = (key: number, patch: Partial<DraftFile>) => setFiles((list) => list.map((f) => (f.key === key ? { ...f, ...patch } : f)));

  const attach = (picked: File[]) => {
    if (lockedReason || !picked.length) return;
    const room = MAX_ATTACHMENTS_PER_MESSAGE - filesRef.current.length;
    if (picked.length > room) setError(`A message takes at most ${MAX_ATTACHMENTS_PER_MESSAGE} files; ${picked.length - Math.max(0, room)} were not attached.`);
    for (const file of picked.slice(0, Math.max(0, room))) {
      const key = nextFileKey++;
      const upload = uploadFile(roomId, file, (fraction) => patchFile(key, { progress: fraction }));
      setFiles((list) => [...list, { key, name: file.name || 'pasted file', size: file.size, progress: 0, status: 'uploading', abort: upload.abort }]);
      upload.done.then(
        (ref) => patchFile(key, { status: 'ready', progress: 1, ref, abort: undefined }),
        (err: unknown) => {
          if (err instanceof UploadCancelled) return;
          patchFile(key, { status: 'failed', error: err instanceof Error ? err.message : String(err), abort: undefined });
        },
      );
    }
  };

  const removeFile = (file: DraftFile) => {
    file.abort?.();
    // An uploaded file taken off the draft is not kept until the unsent-upload sweep.
    if (file.status === 'ready' && file.ref) discardUpload(file.ref.id);
    setFiles((list) => list.filter((f) => f.key !== file.key));
    inputRef.current?.focus();
  };

  // Uploads still running when the conversation closes are cancelled (nothing was sent with them).
  useEffect(() => () => {
    for (const f of filesRef.current) f.abort?.();
  }, []);

  // Files dropped anywhere on the conversation (see ConversationView) land here.
  useEffect(() => {
    const dropped = (e: Event) => attach((e as CustomEvent<File[]>).detail);
    document.addEventListener('parley:attach-files', dropped);
    return () => document.removeEventListener('parley:attach-files', dropped);
  });

  // Another conversation: its own draft.
  useEffect(() => {
    setText(loadDraft(store.me.id, roomId));
    setError(null);
    setSuggest(null);
  }, [roomId, store]);

  // "Edit" on a failed send puts its text back here.
  useEffect(() => {
    const restore = (e: Event) => {
      const { body, attachments } = (e as CustomEvent<RestoredDraft>).detail;
      setText((current) => (current ? `${current}\n${body}` : body));
      // Its files come back as uploaded chips (still unsent, so still linkable).
      setFiles((list) => [...list, ...attachments.map((ref): DraftFile => ({ key: nextFileKey++, name: ref.name, size: ref.size, progress: 1, status: 'ready', ref }))]);
      inputRef.current?.focus();
    };
    document.addEventListener('parley:restore-draft', restore);
    return () => document.removeEventListener('parley:restore-draft', restore);
  }, [inputRef]);

  // Grow with the text up to a third of the screen (CSSOM, which the CSP allows, not a style attribute).
  useEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight + 2, Math.max(120, window.innerHeight / 3))}px`;
  }, [text, inputRef]);

  const limit = store.maxMessageBytes;
  const bytes = utf8Length(text);
  const showCount = bytes > limit * 0.8;
  const over = bytes > limit;

  const update = (value: string) => {
    setText(value);
    if (error && utf8Length(value) <= limit) setError(null);
    if (saveTimer.current) clearTimeout(saveTimer.current);
    saveTimer.current = setTimeout(() => saveDraft(store.me.id, roomId, value), 250);
    const now = Date.now();
    if (value && now - lastTyping.current > 2_000) {
      lastTyping.current = now;
      store.connection.typing(roomId);
    }
    updateSuggestions(value);
  };

  const updateSuggestions = (value: string) => {
    const el = inputRef.current;
    const caret = el?.selectionStart ?? value.length;
    const match = MENTION_QUERY.exec(value.slice(0, caret));
    if (!match) return setSuggest(null);
    if (room.members === null) void store.loadMembers(roomId);
    const query = match[2]!.toLowerCase();
    const staff = store.me.role === 'admin' || store.me.role === 'moderator';
    const people: Suggestion[] = (room.members ?? [])
      .filter((m: UserRef) => m.id !== store.me.id && (m.handle.startsWith(query) || m.displayName.toLowerCase().split(/\s+/).some((w) => w.startsWith(query))))
      .slice(0, 8)
      .map((m) => ({ handle: m.handle, displayName: m.displayName }));
    if (staff && room.conv.kind !== 'direct' && 'room'.startsWith(query)) people.push({ handle: 'room', displayName: 'Everyone in this room' });
    setSuggest(people.length ? { items: people, index: 0, start: caret - match[2]!.length - 1 } : null);
  };

  const choose = (item: Suggestion) => {
    const el = inputRef.current;
    if (!el || !suggest) return;
    const caret = el.selectionStart ?? text.length;
    const next = `${text.slice(0, suggest.start)}@${item.handle} ${text.slice(caret)}`;
    const position = suggest.start + item.handle.length + 2;
    update(next);
    setSuggest(null);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(position, position);
    });
  };

  const submit = () => {
    if (lockedReason) return;
    const ready = files.filter((f) => f.status === 'ready' && f.ref).map((f) => f.ref!);
    if (files.some((f) => f.status === 'uploading')) {
      setError('Some files are still uploading: send when they are done (or remove them).');
      return;
    }
    if (!text.trim() && !ready.length) return;
    if (utf8Length(text) > limit) {
      setError(`This message is ${utf8Length(text).toLocaleString()} bytes; the limit is ${limit.toLocaleString()}. Shorten it or split it in two — your text is kept.`);
      inputRef.current?.setAttribute('aria-invalid', 'true');
      return;
    }
    store.send(roomId, text, ready);
    setFiles([]);
    setText('');
    setError(null);
    setSuggest(null);
    if (saveTimer.current) clearTimeout(saveTimer.current);
    saveDraft(store.me.id, roomId, '');
    inputRef.current?.removeAttribute('aria-invalid');
    inputRef.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (suggest) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const n = suggest.items.length;
        setSuggest({ ...suggest, index: (suggest.index + (event.key === 'ArrowDown' ? 1 : n - 1)) % n });
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        choose(suggest.items[suggest.index]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setSuggest(null);
        return;
      }
    }
    if (event.key === 'Escape' && room.replyingTo) {
      event.preventDefault();
      store.setReplyTo(roomId, null);
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'ArrowUp' && !text && !event.shiftKey) {
      event.preventDefault();
      onEditLast();
    }
  };

  const title = displayName(room.conv);
  const placeholder = lockedReason ?? `Message ${room.conv.kind === 'direct' ? title : `#${title}`}`;
  const describedBy = [room.replyingTo ? 'reply-chip' : '', files.length ? 'composer-files' : '', 'composer-hint', showCount ? 'composer-count' : '', error ? 'composer-error' : ''].filter(Boolean).join(' ');
  const optionId = (i: number) => `mention-option-${i}`;
  return (
    <form id="composer" class="composer" autocomplete="off" onSubmit={(e) => {
      e.preventDefault();
      submit();
    }}>
      {suggest ? (
        <ul class="mention-list" id="mention-list" role="listbox" aria-label="People to mention">
          {suggest.items.map((item, i) => (
            <li id={optionId(i)} role="option" aria-selected={i === suggest.index} class={i === suggest.index ? 'selected' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(item);
              }}>
              <strong>@{item.handle}</strong> <span class="muted">{item.displayName}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {room.replyingTo ? (
        <div class="reply-chip" id="reply-chip">
          <span>Replying to <strong>@{room.replyingTo.author.handle}</strong>: <span class="reply-excerpt" dir="auto">{room.replyingTo.body.slice(0, REPLY_EXCERPT_CHARS)}</span></span>
          <button type="button" class="icon-button small" aria-label="Cancel the reply (Escape)" onClick={() => {
            store.setReplyTo(roomId, null);
            inputRef.current?.focus();
          }}>✕</button>
        </div>
      ) : null}
      {files.length ? (
        <ul class="file-chips" id="composer-files" aria-label="Files to send">
          {files.map((f) => (
            <li key={f.key} class={`file-chip ${f.status}`} data-status={f.status}>
              <span class="file-chip-name" dir="auto">{f.name}</span>
              <span class="file-chip-size muted">{formatBytes(f.size)}</span>
              {f.status === 'uploading' ? (
                <progress max={1} value={f.progress} aria-label={`Uploading ${f.name}`}>{Math.round(f.progress * 100)}%</progress>
              ) : f.status === 'failed' ? (
                <span class="file-chip-error" role="alert">{f.error}</span>
              ) : <span class="visually-hidden">uploaded</span>}
              <button type="button" class="icon-button small" onClick={() => removeFile(f)}
                aria-label={f.status === 'uploading' ? `Cancel the upload of ${f.name}` : `Remove ${f.name}`}>✕</button>
            </li>
          ))}
        </ul>
      ) : null}
      <label for="message-input" class="visually-hidden">Message {title}</label>
      <div class="composer-row">
        <input type="file" id="composer-file-input" class="visually-hidden" multiple tabIndex={-1} aria-label="Files to attach" ref={fileInput}
          onChange={(e) => {
            attach(Array.from(e.currentTarget.files ?? []));
            e.currentTarget.value = '';
          }} />
        <button type="button" class="attach" disabled={lockedReason !== null} aria-label="Attach files" title="Attach files"
          onClick={() => fileInput.current?.click()}>📎</button>
        <textarea
          id="message-input"
          name="body"
          rows={1}
          ref={inputRef}
          value={text}
          placeholder={placeholder}
          disabled={lockedReason !== null}
          aria-describedby={describedBy}
          aria-invalid={error ? 'true' : undefined}
          aria-controls={suggest ? 'mention-list' : undefined}
          aria-activedescendant={suggest ? optionId(suggest.index) : undefined}
          onInput={(e) => update(e.currentTarget.value)}
          onPaste={(e) => {
            const pasted = filesOf(e.clipboardData);
            if (!pasted.length) return;
            e.preventDefault();
            attach(pasted);
          }}
          onKeyDown={onKeyDown}
          onClick={() => updateSuggestions(text)}
        />
        <button type="submit" class="primary send" disabled={lockedReason !== null}>Send</button>
      </div>
      <div class="composer-meta">
        <span id="composer-hint" class="hint">Enter to send · Shift+Enter for a new line · ↑ to edit your last message</span>
        {showCount ? <span id="composer-count" class={`byte-count${over ? ' over' : ''}`} aria-live="polite">{bytes.toLocaleString()} / {limit.toLocaleString()} bytes</span> : null}
      </div>
      <p id="composer-error" class="field-error" role="alert">{error ?? room.error ?? ''}</p>
    </form>
  );
}
