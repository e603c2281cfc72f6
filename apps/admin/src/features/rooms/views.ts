import { html, lockIcon } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout, type ViewUser } from '../../views/layout.ts';
import type { DirectRoom, Room, RoomMember } from './room-repository.ts';

export function roomsPage(opts: {
  user: ViewUser; csrfToken: string; rooms: Room[]; directs?: DirectRoom[]; errors?: Record<string, string>; values?: Record<string, string>;
}): string {
  const e = opts.errors;
  const v = opts.values ?? {};
  const list = opts.rooms.length
    ? html`<ul class="room-list" id="room-list">${opts.rooms.map(
        (r) => html`<li>
          <a href="/rooms/${r.id}" class="room-link">${r.kind === 'private' ? lockIcon : '# '}${r.name}</a>
          ${r.archivedAt ? html`<span class="badge">archived</span>` : ''}
          ${r.isMember ? html`<span class="badge ok">joined</span>` : ''}
          <span class="muted">${r.topic}</span>
          <span class="muted small push">${r.memberCount} member${r.memberCount === 1 ? '' : 's'}</span>
          ${r.isMember ? '' : html`<a href="/rooms/${r.id}" class="button small" aria-label="Join ${r.name}">Join</a>`}
        </li>`,
      )}</ul>`
    : html`<p class="muted">No rooms yet. Create the first one.</p>`;
  const directs = opts.directs ?? [];
  return layout(
    { title: 'Rooms', user: opts.user, csrfToken: opts.csrfToken, active: 'rooms' },
    html`<div class="grid-2">
  <section class="card" aria-labelledby="rooms-h">
    <h1 id="rooms-h">Rooms</h1>
    <p class="muted small">Public rooms are open to everyone; private rooms (${lockIcon}) are shown only to their members.</p>
    ${list}
  </section>
  <div class="stack">
  <section class="card" aria-labelledby="create-h">
    <h2 id="create-h">Create a room</h2>
    <form method="post" action="/rooms" novalidate id="create-room">
      <input type="hidden" name="_csrf" value="${opts.csrfToken}">
      <label for="name">Name</label>
      <input id="name" name="name" required maxlength="80" value="${v.name ?? ''}"${invalidAttrs(e, 'name')}>
      ${fieldError(e, 'name')}
      <label for="topic">Topic <span class="muted">(optional)</span></label>
      <input id="topic" name="topic" maxlength="200" value="${v.topic ?? ''}"${invalidAttrs(e, 'topic')}>
      ${fieldError(e, 'topic')}
      <fieldset>
        <legend>Who can join</legend>
        <label class="radio"><input type="radio" name="kind" value="public" ${v.kind !== 'private' ? 'checked' : ''}> Public: anyone can find and join</label>
        <label class="radio"><input type="radio" name="kind" value="private" ${v.kind === 'private' ? 'checked' : ''}> Private: members only, by invitation</label>
      </fieldset>
      ${fieldError(e, 'kind')}
      <button type="submit" class="primary">Create room</button>
    </form>
  </section>
  <section class="card" aria-labelledby="dm-h">
    <h2 id="dm-h">Direct messages</h2>
    ${directs.length
      ? html`<ul class="room-list compact" id="dm-list">${directs.map((d) => html`<li><a class="room-link" href="/rooms/${d.id}">@${d.other.handle}</a> <span class="muted">${d.other.displayName}</span></li>`)}</ul>`
      : html`<p class="muted small">No conversations yet.</p>`}
    <form method="post" action="/direct" novalidate id="start-dm">
      <input type="hidden" name="_csrf" value="${opts.csrfToken}">
      <label for="dmHandle">Message someone</label>
      <div class="row">
        <input id="dmHandle" name="handle" placeholder="@handle" autocomplete="off" value="${v.dmHandle ?? ''}"${invalidAttrs(e, 'dmHandle')}>
        <button type="submit">Open</button>
      </div>
      ${fieldError(e, 'dmHandle')}
    </form>
  </section>
  </div>
</div>`,
  );
}

export function roomPage(opts: {
  user: ViewUser & { id: number }; csrfToken: string; room: Room; chatUrl: string;
  peer?: { handle: string; displayName: string } | null; mutedUntil?: Date | null; members?: RoomMember[];
  inviteError?: string; inviteValue?: string; flash?: string | null;
}): string {
  const { room } = opts;
  const title = room.kind === 'direct' ? (opts.peer ? `@${opts.peer.handle}` : 'Direct message') : room.name;
  const icon = room.kind === 'private' ? lockIcon : room.kind === 'direct' ? '' : '# ';
  const staff = opts.user.role === 'admin' || opts.user.role === 'moderator';
  const muted = opts.mutedUntil && opts.mutedUntil.getTime() > Date.now() ? opts.mutedUntil : null;
  const inviteErrors = opts.inviteError ? { handle: opts.inviteError } : undefined;
  return layout(
    { title, user: opts.user, csrfToken: opts.csrfToken, active: 'rooms', scripts: ['/static/room.js'], flash: opts.flash },
    html`<div class="room" id="room" data-room-id="${room.id}" data-chat-url="${opts.chatUrl}" data-user-id="${opts.user.id}" data-role="${opts.user.role}" data-archived="${room.archivedAt ? 'true' : 'false'}" data-muted-until="${muted ? muted.toISOString() : ''}">
  <section class="chat card">
    <header class="chat-header">
      <h1>${icon}${title}</h1>
      <p class="muted">${room.kind === 'direct' ? opts.peer?.displayName ?? '' : room.topic}</p>
      ${staff ? html`<span class="badge">${opts.user.role}: you can delete any message</span>` : ''}
      <span id="conn-state" class="conn-state" role="status" aria-live="polite" data-state="connecting">Connecting…</span>
    </header>
    <p id="moderation-notice" class="notice" role="status" aria-live="polite"${muted ? '' : ' hidden'}>${muted ? `A moderator muted you in this room until ${muted.toISOString().slice(11, 16)} UTC.` : ''}</p>
    <button type="button" id="load-older" class="link" hidden>Load older messages</button>
    <ol id="messages" class="messages" aria-live="polite" aria-label="Messages"></ol>
    <p id="typing" class="typing muted" aria-live="polite"></p>
    <form id="composer" class="composer" autocomplete="off">
      <label for="message-input" class="visually-hidden">Message</label>
      <textarea id="message-input" name="body" rows="2" maxlength="4096" placeholder="${room.archivedAt ? 'This room is archived' : `Message ${room.kind === 'public' ? '#' : ''}${title}`}" ${room.archivedAt ? 'disabled' : ''}></textarea>
      <button type="submit" class="primary" ${room.archivedAt ? 'disabled' : ''}>Send</button>
    </form>
    <p id="composer-error" class="field-error" role="alert"></p>
  </section>
  <aside class="side stack">
    <section class="card presence">
      <h2>Online</h2>
      <ul id="presence" aria-label="People online"></ul>
    </section>
    ${room.kind === 'private'
      ? html`<section class="card" aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <ul class="plain" id="members">${(opts.members ?? []).map((m) => html`<li>${m.displayName} <span class="muted small">@${m.handle}</span></li>`)}</ul>
      <form method="post" action="/rooms/${room.id}/invite" novalidate id="invite-form">
        <input type="hidden" name="_csrf" value="${opts.csrfToken}">
        <label for="invite-handle">Invite someone</label>
        <div class="row">
          <input id="invite-handle" name="handle" placeholder="@handle" autocomplete="off" value="${opts.inviteValue ?? ''}"${invalidAttrs(inviteErrors, 'handle')}>
          <button type="submit">Invite</button>
        </div>
        ${fieldError(inviteErrors, 'handle')}
      </form>
    </section>`
      : ''}
  </aside>
</div>`,
  );
}
