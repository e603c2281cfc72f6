import { html } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout, type ViewUser } from '../../views/layout.ts';
import type { Room } from './room-repository.ts';

export function roomsPage(opts: { user: ViewUser; csrfToken: string; rooms: Room[]; errors?: Record<string, string>; values?: Record<string, string> }): string {
  const e = opts.errors;
  const v = opts.values ?? {};
  const list = opts.rooms.length
    ? html`<ul class="room-list">${opts.rooms.map(
        (r) => html`<li>
          <a href="/rooms/${r.id}" class="room-link">${r.kind === 'private' ? '🔒 ' : '# '}${r.name}</a>
          ${r.archivedAt ? html`<span class="badge">archived</span>` : ''}
          <span class="muted">${r.topic}</span>
          <span class="muted small">${r.memberCount} member${r.memberCount === 1 ? '' : 's'}</span>
        </li>`,
      )}</ul>`
    : html`<p class="muted">No rooms yet. Create the first one.</p>`;
  return layout(
    { title: 'Rooms', user: opts.user, csrfToken: opts.csrfToken, active: 'rooms' },
    html`<div class="grid-2">
  <section class="card">
    <h1>Rooms</h1>
    ${list}
  </section>
  <section class="card">
    <h2>Create a room</h2>
    <form method="post" action="/rooms" novalidate>
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
        <label class="radio"><input type="radio" name="kind" value="private" ${v.kind === 'private' ? 'checked' : ''}> Private: members only</label>
      </fieldset>
      ${fieldError(e, 'kind')}
      <button type="submit" class="primary">Create room</button>
    </form>
  </section>
</div>`,
  );
}

export function roomPage(opts: { user: ViewUser & { id: number }; csrfToken: string; room: Room; chatUrl: string }): string {
  const { room } = opts;
  return layout(
    { title: room.name, user: opts.user, csrfToken: opts.csrfToken, active: 'rooms', scripts: ['/static/room.js'] },
    html`<div class="room" id="room" data-room-id="${room.id}" data-chat-url="${opts.chatUrl}" data-user-id="${opts.user.id}" data-archived="${room.archivedAt ? 'true' : 'false'}">
  <section class="chat card">
    <header class="chat-header">
      <h1>${room.kind === 'private' ? '🔒 ' : '# '}${room.name}</h1>
      <p class="muted">${room.topic}</p>
      <span id="conn-state" class="conn-state" role="status" aria-live="polite" data-state="connecting">Connecting…</span>
    </header>
    <button type="button" id="load-older" class="link" hidden>Load older messages</button>
    <ol id="messages" class="messages" aria-live="polite" aria-label="Messages"></ol>
    <p id="typing" class="typing muted" aria-live="polite"></p>
    <form id="composer" class="composer" autocomplete="off">
      <label for="message-input" class="visually-hidden">Message</label>
      <textarea id="message-input" name="body" rows="2" maxlength="4096" placeholder="${room.archivedAt ? 'This room is archived' : `Message #${room.name}`}" ${room.archivedAt ? 'disabled' : ''}></textarea>
      <button type="submit" class="primary" ${room.archivedAt ? 'disabled' : ''}>Send</button>
    </form>
    <p id="composer-error" class="field-error" role="alert"></p>
  </section>
  <aside class="card presence">
    <h2>Online</h2>
    <ul id="presence" aria-label="People online"></ul>
  </aside>
</div>`,
  );
}
