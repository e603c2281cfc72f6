// The conversation list: rooms (alphabetical) and direct messages (latest activity first), each with
// its unread count and mention badge, bold while unread. Links are real links (/chat/:id): the app
// intercepts plain clicks and switches without a page load.
import type { ChatStore, RoomState } from '../store.ts';
import { groupNames, isGroup, isHidden } from '../store.ts';
import { countBadge, formatActivity } from './format.ts';
import { Avatar } from './avatar.tsx';
import { NotificationPrompt } from './notifications.tsx';
import { Icon } from './icons.tsx';
import { csrfToken } from '../csrf.ts';

function Item({ room, active }: { room: RoomState; active: boolean }) {
  const conv = room.conv;
  const unread = conv.unread > 0;
  const group = isGroup(conv);
  return (
    <li>
      <a
        href={`/chat/${conv.id}`}
        class={`conv${unread ? ' unread' : ''}${active ? ' active' : ''}${conv.archived ? ' archived' : ''}`}
        data-room-id={conv.id}
        aria-current={active ? 'page' : undefined}
      >
        {group
          ? <span class="conv-icon conv-group" aria-hidden="true">{(conv.peers?.length ?? 0) + 1}</span>
          : conv.kind === 'direct' && conv.peer
          ? <Avatar user={conv.peer} size="sm" />
          : <span class="conv-icon"><Icon name={conv.kind === 'private' ? 'lock' : 'hash'} label={conv.kind === 'private' ? 'Private room' : 'Room'} /></span>}
        <span class="conv-name">
          {group ? <><span class="visually-hidden">Group conversation with </span>{groupNames(conv)}</>
            : conv.kind === 'direct' ? <><span class="visually-hidden">Direct message with </span>{conv.peer?.displayName ?? 'someone'}</> : conv.name}
          {conv.archived ? <span class="visually-hidden"> (archived)</span> : null}
        </span>
        {conv.notificationsMuted ? <span class="conv-muted" title="Notifications muted"><Icon name="bellOff" label="notifications muted" /></span> : null}
        {conv.kind === 'direct' && !unread ? <span class="conv-time" aria-hidden="true">{formatActivity(conv.lastActivityAt)}</span> : null}
        {conv.mentionSeqs.length ? (
          <span class="badge badge-mention"><span aria-hidden="true">@{countBadge(conv.mentionSeqs.length)}</span>
            <span class="visually-hidden">, {conv.mentionSeqs.length} mention{conv.mentionSeqs.length === 1 ? '' : 's'}</span></span>
        ) : null}
        {unread ? (
          <span class="badge badge-unread"><span aria-hidden="true">{countBadge(conv.unread)}</span>
            <span class="visually-hidden">, {conv.unread} unread</span></span>
        ) : null}
      </a>
    </li>
  );
}

export function Sidebar({ store, onSwitcher, open }: { store: ChatStore; onSwitcher: () => void; open: boolean }) {
  const all = [...store.rooms.values()].filter((r) => !r.removed || r.conv.id === store.currentId);
  const rooms = all.filter((r) => r.conv.kind !== 'direct')
    .sort((a, b) => Number(a.conv.archived) - Number(b.conv.archived) || a.conv.name.localeCompare(b.conv.name));
  const directs = all.filter((r) => r.conv.kind === 'direct' && (!isHidden(r.conv) || r.conv.id === store.currentId))
    .sort((a, b) => (b.conv.lastActivityAt ?? '').localeCompare(a.conv.lastActivityAt ?? '') || b.conv.id - a.conv.id);
  const mac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
  return (
    <nav id="sidebar" class={`sidebar${open ? ' open' : ''}`} aria-label="Conversations">
      <button type="button" class="switcher-button" onClick={onSwitcher} aria-keyshortcuts={mac ? 'Meta+K' : 'Control+K'}>
        <span>Jump to…</span><kbd>{mac ? '⌘' : 'Ctrl'} K</kbd>
      </button>
      <NotificationPrompt />
      <h2 id="sidebar-rooms" class="sidebar-heading">Rooms</h2>
      {rooms.length
        ? <ul class="conv-list" aria-labelledby="sidebar-rooms" id="sidebar-rooms-list">{rooms.map((r) => <Item key={r.conv.id} room={r} active={r.conv.id === store.currentId} />)}</ul>
        : <p class="sidebar-empty">No rooms yet.</p>}
      <a class="sidebar-link" href="/rooms">Browse or create rooms</a>
      <h2 id="sidebar-dms" class="sidebar-heading">Direct messages</h2>
      {directs.length
        ? <ul class="conv-list" aria-labelledby="sidebar-dms" id="sidebar-dm-list">{directs.map((r) => <Item key={r.conv.id} room={r} active={r.conv.id === store.currentId} />)}</ul>
        : <p class="sidebar-empty">No direct messages yet.</p>}
      <NewDirectMessage />
    </nav>
  );
}

function NewDirectMessage() {
  const csrf = csrfToken();
  return (
    <form method="post" action="/direct" class="new-dm" autocomplete="off">
      <input type="hidden" name="_csrf" value={csrf} />
      <label for="sidebar-dm-handle" class="visually-hidden">Message someone by handle, or several people (@ann @bob)</label>
      <input id="sidebar-dm-handle" name="handle" placeholder="Message @handle" title="Several handles (up to 7, e.g. @ann @bob) open a group conversation" required />
      <button type="submit" class="small">Open</button>
    </form>
  );
}
