// Message search: a search box above the conversation, its results in a panel below it (newest first,
// "More results" pages by cursor), and opening a result: the room at that message, highlighted, with
// context above and below (store.jumpTo). Keyboard: Enter searches, ↓/↑ move through the results,
// Enter opens one, Escape closes the panel (and returns to the box). Excerpts are rendered as text with
// <mark> around the server's highlight ranges: a message body never becomes markup.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatStore } from '../store.ts';
import { api, displayName } from '../store.ts';
import type { SearchHit, SearchPage } from '../../features/search/search-result.ts';
import { formatFull, formatActivity } from './format.ts';

interface Props {
  store: ChatStore;
  /** Open a conversation the sidebar has at `seq` (the app switches without a page load). */
  onOpenAt: (roomId: number, seq: number) => void;
}

type Status = { kind: 'idle' } | { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'done' };

/** The room a result came from, as the person knows it. */
function roomLabel(store: ChatStore, hit: SearchHit): string {
  const conv = store.rooms.get(hit.roomId)?.conv;
  if (conv) return conv.kind === 'direct' ? displayName(conv) : `#${conv.name}`;
  return hit.roomName ? `#${hit.roomName}` : 'Direct message';
}

/** The excerpt as text nodes, with the highlighted ranges in <mark>. */
function Excerpt({ hit }: { hit: SearchHit }) {
  const parts: preact.ComponentChildren[] = [];
  let at = 0;
  for (const [start, end] of hit.highlights) {
    if (start < at || end > hit.excerpt.length) continue;
    if (start > at) parts.push(hit.excerpt.slice(at, start));
    parts.push(<mark key={start}>{hit.excerpt.slice(start, end)}</mark>);
    at = end;
  }
  if (at < hit.excerpt.length) parts.push(hit.excerpt.slice(at));
  return <span class="search-excerpt" dir="auto">{parts}</span>;
}

export function SearchBar({ store, onOpenAt }: Props) {
  const [text, setText] = useState('');
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [open, setOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const asked = useRef('');
  const generation = useRef(0);

  // "/" anywhere outside a text field goes to the search box.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || target.closest('input, textarea, [contenteditable="true"]')) return;
      e.preventDefault();
      input.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const run = async (q: string, before: string | null) => {
    const mine = ++generation.current;
    setStatus({ kind: 'loading' });
    setOpen(true);
    try {
      const page = await api<SearchPage>(`/api/search?q=${encodeURIComponent(q)}${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      if (mine !== generation.current) return; // a newer search answered first
      setHits((previous) => (before ? [...previous, ...page.hits] : page.hits));
      setCursor(page.nextCursor);
      setStatus({ kind: 'done' });
    } catch (err) {
      if (mine === generation.current) setStatus({ kind: 'error', message: (err as Error).message });
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const q = text.trim();
    if (!q) return;
    asked.current = q;
    setHits([]);
    void run(q, null);
  };

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) input.current?.focus();
  };

  const choose = (hit: SearchHit) => {
    close(false);
    if (store.rooms.has(hit.roomId)) onOpenAt(hit.roomId, hit.seq);
    // A public room the person has not joined: its page joins it, then opens at the message.
    else location.assign(`/chat/${hit.roomId}?at=${hit.seq}`);
  };

  const results = () => [...(panel.current?.querySelectorAll<HTMLAnchorElement>('a.search-result') ?? [])];
  const onPanelKey = (e: KeyboardEvent) => {
    const items = results();
    const i = items.indexOf(document.activeElement as HTMLAnchorElement);
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[Math.min(items.length - 1, i + 1)]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (i <= 0) input.current?.focus();
      else items[i - 1]?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    }
  };

  const onInputKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' && open) {
      e.preventDefault();
      results()[0]?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      if (open) close(true);
      else {
        setText('');
        input.current?.blur();
      }
    }
  };

  const summary = status.kind === 'loading' ? 'Searching…'
    : status.kind === 'error' ? `The search failed: ${status.message}`
    : status.kind === 'done' ? (hits.length ? `${hits.length}${cursor ? '+' : ''} result${hits.length === 1 ? '' : 's'} for “${asked.current}”` : `No messages match “${asked.current}”.`)
    : '';

  return (
    <div class="search">
      <form role="search" class="search-form" onSubmit={submit}>
        <label for="search-input" class="visually-hidden">Search messages</label>
        <input id="search-input" ref={input} type="search" autoComplete="off" value={text} maxLength={500}
          placeholder='Search messages'
          title='Words, "a phrase", pre*, -word, in:#room, from:@name, before:YYYY-MM-DD, after:YYYY-MM-DD'
          aria-controls={open ? 'search-results' : undefined}
          onInput={(e) => setText((e.currentTarget).value)} onKeyDown={onInputKey} />
      </form>
      {open ? (
        <div id="search-results" class="search-results" ref={panel} role="region" aria-label="Search results" onKeyDown={onPanelKey}>
          <div class="search-results-head">
            <p class="muted small" role="status" aria-live="polite">{summary}</p>
            <button type="button" class="small" onClick={() => close(true)} aria-label="Close search results">Close</button>
          </div>
          <ol class="search-list">
            {hits.map((hit) => (
              <li key={`${hit.roomId}:${hit.seq}`}>
                <a class="search-result" href={`/chat/${hit.roomId}?at=${hit.seq}`} data-room-id={hit.roomId} data-seq={hit.seq}
                  onClick={(e) => {
                    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                    e.preventDefault();
                    choose(hit);
                  }}>
                  <span class="search-meta">
                    <span class="search-room">{roomLabel(store, hit)}</span>
                    <span class="search-author">{hit.author.displayName}</span>
                    <time dateTime={hit.createdAt} title={formatFull(new Date(hit.createdAt))}>{formatActivity(hit.createdAt)}</time>
                  </span>
                  <Excerpt hit={hit} />
                </a>
              </li>
            ))}
          </ol>
          {cursor && status.kind !== 'loading' ? (
            <button type="button" class="small search-more" onClick={() => void run(asked.current, cursor)}>More results</button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** `/chat/:id?at=<seq>` (a search result in a room that was not in the list yet): open it at that message. */
export function jumpFromLocation(store: ChatStore, roomId: number): void {
  const at = Number(new URLSearchParams(location.search).get('at'));
  if (!Number.isSafeInteger(at) || at < 1 || !store.rooms.has(roomId)) return;
  store.openAt(roomId, at);
  history.replaceState({ roomId }, '', `/chat/${roomId}`);
}
