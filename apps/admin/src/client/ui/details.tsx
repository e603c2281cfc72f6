// The details column: about, who is online, members (and invitations in private rooms), and the
// per-conversation notification setting.
import type { ChatStore, RoomState } from '../store.ts';
import { groupNames, isGroup } from '../store.ts';
import { Avatar } from './avatar.tsx';

interface Props {
  store: ChatStore;
  room: RoomState;
  open: boolean;
  onClose: () => void;
  invite: { error: string; value: string } | null;
}

export function Details({ store, room, open, onClose, invite }: Props) {
  const conv = room.conv;
  const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
  const more = room.presenceCount - room.presence.length;
  return (
    <aside id="details" class={`details${open ? ' open' : ''}`} aria-label="Conversation details">
      <div class="details-head">
        <h2 class="details-title">Details</h2>
        <button type="button" class="icon-button details-close" onClick={onClose} aria-label="Close details"><span aria-hidden="true">×</span></button>
      </div>
      <section class="details-section" aria-labelledby="about-h">
        <h3 id="about-h">About</h3>
        {isGroup(conv)
          ? <p>Group conversation with {groupNames(conv)}</p>
          : conv.kind === 'direct'
          ? <p>Direct messages with {conv.peer?.displayName ?? 'someone'} <span class="muted">@{conv.peer?.handle}</span></p>
          : <p dir="auto">{conv.topic || <span class="muted">No topic.</span>}</p>}
        <p class="muted small">{conv.kind === 'public' ? 'Public room: anyone can join.' : conv.kind === 'private' ? 'Private room: members only, by invitation.' : isGroup(conv) ? 'Only the people in it can read this.' : 'Only the two of you can read this.'}</p>
      </section>
      <section class="details-section presence" aria-labelledby="online-h">
        <h3 id="online-h">Online</h3>
        <ul id="presence" class="people" aria-label="People online">
          {room.presence.map((u) => (
            <li key={u.id} class={store.isMe(u) ? 'me' : ''} title={`@${u.handle}`}>
              <Avatar user={u} size="sm" /> <span>{u.displayName}</span>{store.isMe(u) ? <span class="muted small"> (you)</span> : null}
            </li>
          ))}
          {more > 0 ? <li class="more">and {more} more</li> : null}
        </ul>
      </section>
      {conv.kind === 'private' ? (
        <section class="details-section" aria-labelledby="members-h">
          <h3 id="members-h">Members</h3>
          <ul class="people" id="members">
            {(room.members ?? []).map((m) => <li key={m.id}><Avatar user={m} size="sm" /> {m.displayName} <span class="muted small">@{m.handle}</span></li>)}
          </ul>
          {!conv.archived ? (
            <form method="post" action={`/rooms/${conv.id}/invite`} id="invite-form" class="invite-form" novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <label for="invite-handle">Invite someone</label>
              <div class="row">
                <input id="invite-handle" name="handle" placeholder="@handle" autocomplete="off" defaultValue={invite?.value ?? ''}
                  aria-invalid={invite?.error ? 'true' : undefined} aria-describedby={invite?.error ? 'handle-error' : undefined} />
                <button type="submit">Invite</button>
              </div>
              {invite?.error ? <p class="field-error" id="handle-error" role="alert">{invite.error}</p> : null}
            </form>
          ) : null}
        </section>
      ) : null}
      <section class="details-section" aria-labelledby="notify-h">
        <h3 id="notify-h">Notifications</h3>
        <label class="checkbox">
          <input type="checkbox" id="mute-notifications" checked={conv.notificationsMuted}
            onChange={(e) => void store.setNotificationsMuted(conv.id, e.currentTarget.checked)} />
          Mute notifications for this conversation
        </label>
        <p class="muted small">Unread counts still show; no pop-ups and no title badge.</p>
      </section>
    </aside>
  );
}
