// The composer: Enter sends, Shift+Enter adds a line; a byte counter appears near the server's limit
// and a message over it is refused here, keeping its text (nothing is ever cut); Up in an empty
// composer edits your last message; @ opens handle completion; the draft of every conversation is kept
// across reloads.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { UserRef } from '@parley/protocol';
import { utf8Length } from '@parley/protocol/wire';
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

const MENTION_QUERY = /(^|[^A-Za-z0-9_])@([a-z0-9_]{0,32})$/i;

export function Composer({ store, room, lockedReason, onEditLast, inputRef }: Props) {
  const roomId = room.conv.id;
  const [text, setText] = useState(() => loadDraft(store.me.id, roomId));
  const [error, setError] = useState<string | null>(null);
  const [suggest, setSuggest] = useState<{ items: Suggestion[]; index: number; start: number } | null>(null);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastTyping = useRef(0);

  // Another conversation: its own draft.
  useEffect(() => {
    setText(loadDraft(store.me.id, roomId));
    setError(null);
    setSuggest(null);
  }, [roomId, store]);

  // "Edit" on a failed send puts its text back here.
  useEffect(() => {
    const restore = (e: Event) => {
      const body = (e as CustomEvent<string>).detail;
      setText((current) => (current ? `${current}\n${body}` : body));
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
    if (!text.trim()) return;
    if (utf8Length(text) > limit) {
      setError(`This message is ${utf8Length(text).toLocaleString()} bytes; the limit is ${limit.toLocaleString()}. Shorten it or split it in two — your text is kept.`);
      inputRef.current?.setAttribute('aria-invalid', 'true');
      return;
    }
    store.send(roomId, text);
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
  const describedBy = [room.replyingTo ? 'reply-chip' : '', 'composer-hint', showCount ? 'composer-count' : '', error ? 'composer-error' : ''].filter(Boolean).join(' ');
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
          <span>Replying to <strong>@{room.replyingTo.author.handle}</strong>: <span class="reply-excerpt" dir="auto">{room.replyingTo.body.slice(0, 140)}</span></span>
          <button type="button" class="icon-button small" aria-label="Cancel the reply (Escape)" onClick={() => {
            store.setReplyTo(roomId, null);
            inputRef.current?.focus();
          }}>✕</button>
        </div>
      ) : null}
      <label for="message-input" class="visually-hidden">Message {title}</label>
      <div class="composer-row">
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
