import { html, lockIcon } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout, type ViewUser } from '../../views/layout.ts';
import { chatPage } from '../conversations/views.ts';
import type { ChatShellData } from '../conversations/shell-data.ts';
import type { DirectRoom, Room } from './room-repository.ts';

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
          ${r.isMember || r.archivedAt ? '' : html`<a href="/rooms/${r.id}" class="button small" aria-label="Join ${r.name}">Join</a>`}
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
      ? html`<ul class="room-list compact" id="dm-list">${directs.map((d) => html`<li><a class="room-link" href="/rooms/${d.id}">${d.others.map((o) => `@${o.handle}`).join(', ')}</a> <span class="muted">${d.others.map((o) => o.displayName).join(', ')}</span></li>`)}</ul>`
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

/**
 * A room: the chat client's shell opened on it (the single-page client renders the conversation, the
 * sidebar and the details, members and invitations included). `inviteError`/`inviteValue` come back
 * from a refused invitation form.
 */
export function roomPage(opts: {
  user: ViewUser & { id: number }; csrfToken: string; room: Room; chatUrl: string;
  inviteError?: string; inviteValue?: string; flash?: string | null; initial?: ChatShellData;
}): string {
  return chatPage({
    user: opts.user, csrfToken: opts.csrfToken, chatUrl: opts.chatUrl, roomId: opts.room.id, flash: opts.flash,
    inviteError: opts.inviteError, inviteValue: opts.inviteValue, initial: opts.initial,
  });
}
