// The reaction picker: a search field, the recently used emojis, and every emoji (loaded on first open).
// Keyboard: focus starts in the search field; Enter picks the first result; arrows move in the grid;
// Escape closes and gives focus back to whoever opened it.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { DEFAULT_EMOJIS, type EmojiEntry, loadEmojis, recentEmojis, rememberEmoji, searchEmojis } from './emoji-data.ts';

interface Props {
  onPick: (emoji: string) => void;
  onClose: () => void;
}

const COLUMNS = 8;

export function EmojiPicker({ onPick, onClose }: Props) {
  const [all, setAll] = useState<EmojiEntry[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState('');
  const search = useRef<HTMLInputElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const recent = recentEmojis();
  const quick = recent.length ? recent : DEFAULT_EMOJIS;

  // Layout effects: focus and the Escape/outside-click listeners are in place as soon as the picker is
  // on screen (a plain effect runs a frame later, and an Escape pressed in between was lost).
  useLayoutEffect(() => {
    search.current?.focus();
    loadEmojis().then(setAll, () => setFailed(true));
  }, []);

  // A click anywhere else closes it, and so does Escape wherever focus is (inside the picker, onKeyDown
  // handles Escape first).
  useLayoutEffect(() => {
    const outside = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) onClose();
    };
    const escape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('mousedown', outside);
    document.addEventListener('keydown', escape);
    return () => {
      document.removeEventListener('mousedown', outside);
      document.removeEventListener('keydown', escape);
    };
  }, [onClose]);

  const pick = (emoji: string) => {
    rememberEmoji(emoji);
    onPick(emoji);
  };
  const results = all ? searchEmojis(all, query) : [];

  const onKeyDown = (event: KeyboardEvent) => {
    event.stopPropagation(); // the message list's roving focus must not see these keys
    const target = event.target as HTMLElement;
    if (event.key === 'Escape') {
      event.preventDefault();
      onClose();
      return;
    }
    if (target === search.current) {
      if (event.key === 'Enter') {
        event.preventDefault();
        const first = query ? results[0]?.emoji : quick[0];
        if (first) pick(first);
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        root.current?.querySelector<HTMLButtonElement>('button.emoji')?.focus();
      }
      return;
    }
    if (!target.matches('button.emoji')) return;
    const buttons = [...(root.current?.querySelectorAll<HTMLButtonElement>('button.emoji') ?? [])];
    const i = buttons.indexOf(target as HTMLButtonElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      const next = i + step;
      if (next < 0) search.current?.focus();
      else buttons[Math.min(next, buttons.length - 1)]?.focus();
    }
  };

  const button = (emoji: string, name?: string) => (
    <button type="button" class="emoji" title={name ?? emoji} aria-label={name ?? emoji} onClick={() => pick(emoji)}>{emoji}</button>
  );

  return (
    <div class="emoji-picker" ref={root} role="dialog" aria-label="Add a reaction" onKeyDown={onKeyDown}>
      <label class="visually-hidden" for="emoji-search">Search emoji</label>
      <input id="emoji-search" ref={search} type="search" placeholder="Search emoji" autocomplete="off" value={query}
        onInput={(e) => setQuery((e.currentTarget).value)} />
      {!query ? (
        <div class="emoji-section">
          <p class="emoji-heading">{recent.length ? 'Recently used' : 'Frequently used'}</p>
          <div class="emoji-grid" role="group" aria-label={recent.length ? 'Recently used' : 'Frequently used'}>{quick.map((e) => button(e))}</div>
        </div>
      ) : null}
      <div class="emoji-section emoji-all">
        {failed ? <p class="muted">The emoji list did not load. Close and try again.</p>
          : !all ? <p class="muted">Loading…</p>
          : results.length ? <div class="emoji-grid" role="group" aria-label={query ? 'Search results' : 'All emoji'}>{results.map((e) => button(e.emoji, e.name))}</div>
          : <p class="muted">No emoji found.</p>}
      </div>
    </div>
  );
}
