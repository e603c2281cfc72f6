// The details column: about, who is online, members (and invitations in private rooms), and the
// per-conversation notification setting.
import { useEffect, useState } from 'preact/hooks';
import type { ChatStore, RoomState } from '../store.ts';
import { groupNames, isGroup } from '../store.ts';
import { Avatar } from './avatar.tsx';
import { csrfToken } from '../csrf.ts';

/** Most people in one group conversation, you included (the server's GROUP_DM_LIMIT). */
const GROUP_LIMIT = 8;

interface Props {
  store: ChatStore;
  room: RoomState;
  open: boolean;
  onClose: () => void;
  invite: { error: string; value: string } | null;
  /** Leave this (group) conversation; resolves once it is gone from the list. */
  onLeave: (roomId: number) => Promise<void>;
  /** Close this direct conversation in the sidebar (until its next message). */
  onHide: (roomId: number) => Promise<void>;
}

export function Details({ store, room, open, onClose, invite, onLeave, onHide }: Props) {
  const conv = room.conv;
  const csrf = csrfToken();
  const more = room.presenceCount - room.presence.length;
  const roomId = conv.id;
  // A big room sends only its count: fetch who is online when the pane is opened (and on each reopen).
  useEffect(() => {
    if (open && !room.presenceListed) store.loadPresence(roomId);
  }, [open, roomId, room.presenceListed, store]);
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
        {/* The count is live in every room; a big room's names are the pages fetched when the pane opened. */}
        <h3 id="online-h">Online <span id="online-count" class="muted small">{room.presenceCount}</span></h3>
        <ul id="presence" class="people" aria-label="People online">
          {room.presence.map((u) => (
            <li key={u.id} class={store.isMe(u) ? 'me' : ''} title={`@${u.handle}`}>
              <Avatar user={u} size="sm" /> <span>{u.displayName}</span>{store.isMe(u) ? <span class="muted small"> (you)</span> : null}
            </li>
          ))}
          {more > 0 ? (
            <li class="more">
              and {more} more
              {!room.presenceListed && room.presenceHasMore ? <> <button type="button" class="link-button" onClick={() => store.loadPresence(roomId, true)}>Show more</button></> : null}
            </li>
          ) : null}
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
      {conv.kind === 'direct' && !room.removed ? <AddPeople room={room} csrf={csrf} /> : null}
      {isGroup(conv) && !room.removed ? <LeaveConversation onLeave={() => onLeave(conv.id)} /> : null}
      {conv.kind === 'direct' && !isGroup(conv) ? (
        <section class="details-section" aria-labelledby="close-dm-h">
          <h3 id="close-dm-h">Close</h3>
          <button type="button" id="hide-conversation" onClick={() => void onHide(conv.id)}>Close this conversation</button>
          <p class="muted small">It leaves your sidebar and comes back with the next message; nothing is deleted.</p>
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

/**
 * Adding people to a DM or group opens the conversation of the new set of people (as in Slack): the
 * existing one keeps its members and history. Posts the same form as "Message @handle".
 */
function AddPeople({ room, csrf }: { room: RoomState; csrf: string }) {
  const peers = room.conv.peers?.length ? room.conv.peers : room.conv.peer ? [room.conv.peer] : [];
  const more = GROUP_LIMIT - 1 - peers.length;
  if (more <= 0) return null;
  const onSubmit = (e: Event) => {
    const form = e.currentTarget as HTMLFormElement;
    const added = (form.elements.namedItem('add') as HTMLInputElement).value;
    (form.elements.namedItem('handle') as HTMLInputElement).value = [...peers.map((p) => `@${p.handle}`), added].join(' ');
  };
  return (
    <section class="details-section" aria-labelledby="add-people-h">
      <h3 id="add-people-h">Add people</h3>
      <form method="post" action="/direct" id="add-people-form" class="invite-form" autocomplete="off" onSubmit={onSubmit}>
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="handle" value="" />
        <label for="add-people-handles">Start a new conversation with everyone here and</label>
        <div class="row">
          <input id="add-people-handles" name="add" placeholder="@handle" required aria-describedby="add-people-hint" />
          <button type="submit">Open</button>
        </div>
        <p class="muted small" id="add-people-hint">This conversation stays as it is; up to {more} more {more === 1 ? 'person' : 'people'}.</p>
      </form>
    </section>
  );
}

function LeaveConversation({ onLeave }: { onLeave: () => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const leave = () => {
    setBusy(true);
    void onLeave().finally(() => setBusy(false));
  };
  return (
    <section class="details-section" aria-labelledby="leave-h">
      <h3 id="leave-h">Leave</h3>
      {asking ? (
        <div role="group" aria-labelledby="leave-question">
          <p id="leave-question">Leave this conversation? You stop getting its messages; the others keep it.</p>
          <div class="row">
            <button type="button" class="danger" id="leave-confirm" disabled={busy} onClick={leave}>Leave</button>
            <button type="button" id="leave-cancel" onClick={() => setAsking(false)}>Cancel</button>
          </div>
        </div>
      ) : (
        <button type="button" id="leave-conversation" onClick={() => setAsking(true)}>Leave conversation</button>
      )}
    </section>
  );
}
