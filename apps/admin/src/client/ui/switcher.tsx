// Ctrl/Cmd-K: jump to any conversation by typing part of its name (unread ones first).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatStore } from '../store.ts';
import { displayName, groupNames, isGroup } from '../store.ts';
import { Icon } from './icons.tsx';

export function QuickSwitcher({ store, onClose, onOpen }: { store: ChatStore; onClose: () => void; onOpen: (roomId: number) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [query, setQuery] = useState('');
  const [index, setIndex] = useState(0);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
  }, []);

  const q = query.trim().toLowerCase().replace(/^[#@]/, '');
  const matches = [...store.rooms.values()]
    .filter((r) => !r.removed)
    .map((r) => ({ id: r.conv.id, name: displayName(r.conv), detail: isGroup(r.conv) ? groupNames(r.conv) : r.conv.kind === 'direct' ? r.conv.peer?.displayName ?? '' : r.conv.topic, unread: r.conv.unread, kind: r.conv.kind }))
    .filter((r) => !q || r.name.toLowerCase().replace(/^@/, '').includes(q) || r.detail.toLowerCase().includes(q))
    .sort((a, b) => Number(b.unread > 0) - Number(a.unread > 0) || a.name.localeCompare(b.name))
    .slice(0, 12);
  const active = Math.min(index, Math.max(0, matches.length - 1));

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setIndex((active + 1) % Math.max(1, matches.length));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setIndex((active - 1 + matches.length) % Math.max(1, matches.length));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const pick = matches[active];
      if (pick) onOpen(pick.id);
    }
  };

  return (
    <dialog ref={dialog} class="switcher" aria-label="Jump to a conversation" onClose={onClose} onCancel={onClose}
      onClick={(e) => {
        if (e.target === dialog.current) dialog.current?.close();
      }}>
      <label for="switcher-input" class="visually-hidden">Conversation name</label>
      <input id="switcher-input" type="text" role="combobox" aria-expanded="true" aria-controls="switcher-list" aria-autocomplete="list"
        aria-activedescendant={matches[active] ? `switch-${matches[active].id}` : undefined}
        placeholder="Jump to a room or person…" value={query} autoFocus
        onInput={(e) => {
          setQuery(e.currentTarget.value);
          setIndex(0);
        }} onKeyDown={onKeyDown} />
      <ul id="switcher-list" role="listbox" aria-label="Conversations">
        {matches.map((m, i) => (
          <li key={m.id} id={`switch-${m.id}`} role="option" aria-selected={i === active} class={i === active ? 'selected' : ''}
            onMouseDown={(e) => {
              e.preventDefault();
              onOpen(m.id);
            }}>
            <span class="switch-name">{m.kind === 'public' ? '# ' : m.kind === 'private' ? <><Icon name="lock" label="private" />{' '}</> : ''}{m.name}</span>
            {m.detail ? <span class="muted small"> {m.detail}</span> : null}
            {m.unread ? <span class="badge badge-unread">{m.unread}</span> : null}
          </li>
        ))}
        {matches.length === 0 ? <li class="muted" role="option" aria-selected="false" aria-disabled="true">No conversation matches.</li> : null}
      </ul>
      <p class="hint">↑ ↓ to choose · Enter to open · Esc to close</p>
    </dialog>
  );
}
