// Admin panel pages. Every value goes through `html` (escaped); forms post with the CSRF token.
import { html, lockIcon, type SafeHtml } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout, type ViewUser } from '../../views/layout.ts';
import type { Role, User, UserStatus } from '../users/user-repository.ts';
import type { ModerationFilter, ModerationMessage, MutedPerson, Room, RoomMember } from '../rooms/room-repository.ts';
import type { AuditEntry } from '../audit/audit-repository.ts';
import { dashboardBody, type DashboardData } from '../dashboard/view.ts';
import { moderationUrl } from './moderation-filter.ts';
import type { UsageRow } from '../attachments/attachment-repository.ts';
import { formatBytes } from '../attachments/format-bytes.ts';

export type AdminTab = 'users' | 'rooms' | 'moderation' | 'audit' | 'storage' | 'dashboard';

interface Shell {
  user: ViewUser;
  csrfToken: string;
  flash?: string | null;
  scripts?: string[];
}

const TABS: { id: AdminTab; label: string; href: string; adminOnly: boolean }[] = [
  { id: 'dashboard', label: 'Dashboard', href: '/admin/dashboard', adminOnly: false },
  { id: 'users', label: 'Users', href: '/admin/users', adminOnly: false },
  { id: 'rooms', label: 'Rooms', href: '/admin/rooms', adminOnly: true },
  { id: 'moderation', label: 'Moderation', href: '/admin/moderation', adminOnly: false },
  { id: 'audit', label: 'Audit log', href: '/admin/audit', adminOnly: true },
  { id: 'storage', label: 'Storage', href: '/admin/storage', adminOnly: true },
];

function shell(o: Shell, tab: AdminTab, title: string, body: SafeHtml): string {
  const isAdmin = o.user.role === 'admin';
  return layout(
    { title, user: o.user, csrfToken: o.csrfToken, active: tab === 'dashboard' ? 'dashboard' : 'admin', flash: o.flash, scripts: ['/static/confirm.js', ...(o.scripts ?? [])] },
    html`<nav class="tabs" aria-label="Admin sections">${TABS.filter((t) => isAdmin || !t.adminOnly).map(
      (t) => html`<a href="${t.href}"${t.id === tab ? html` aria-current="page" class="active"` : ''}>${t.label}</a>`,
    )}</nav>
${body}`,
  );
}

const csrf = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;
const when = (d: Date) => html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')}</time>`;

function pager(base: string, params: Record<string, string>, page: number, pages: number): SafeHtml {
  if (pages <= 1) return html``;
  const link = (p: number) => `${base}?${new URLSearchParams({ ...params, page: String(p) }).toString()}`;
  return html`<nav class="pager" aria-label="Pages">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">← Previous</a>` : html`<span class="muted">← Previous</span>`}
    <span>Page ${page} of ${pages}</span>
    ${page < pages ? html`<a href="${link(page + 1)}" rel="next">Next →</a>` : html`<span class="muted">Next →</span>`}
  </nav>`;
}

const STATUS_TEXT: Record<UserStatus, string> = { active: 'active', deactivated: 'deactivated', banned: 'banned' };

export function usersPage(o: Shell & { users: User[]; total: number; page: number; pageSize: number; q: string; role: string; status: string; selfId: number }): string {
  const isAdmin = o.user.role === 'admin';
  const pages = Math.max(1, Math.ceil(o.total / o.pageSize));
  const params = { q: o.q, role: o.role, status: o.status };
  // The list as it is now (search, filters, page): each form returns here after its change.
  const listQuery = new URLSearchParams(Object.entries({ ...params, page: o.page > 1 ? String(o.page) : '' }).filter(([, v]) => v)).toString();
  const backField = html`<input type="hidden" name="back" value="${listQuery ? `/admin/users?${listQuery}` : '/admin/users'}">`;
  return shell(o, 'users', 'Users', html`<section class="card">
  <div class="card-head"><h1>Users <span class="muted small">${o.total} found</span></h1></div>
  <form method="get" action="/admin/users" class="filters" role="search">
    <div><label for="q">Search</label><input id="q" name="q" type="search" value="${o.q}" placeholder="email, handle or name"></div>
    <div><label for="role">Role</label><select id="role" name="role">
      ${['', 'user', 'moderator', 'admin'].map((r) => html`<option value="${r}"${r === o.role ? ' selected' : ''}>${r || 'any'}</option>`)}
    </select></div>
    <div><label for="status">Status</label><select id="status" name="status">
      ${['', 'active', 'deactivated', 'banned'].map((r) => html`<option value="${r}"${r === o.status ? ' selected' : ''}>${r || 'any'}</option>`)}
    </select></div>
    <div><button type="submit">Search</button></div>
  </form>
  <div class="table-wrap">
  <table id="users">
    <thead><tr><th scope="col">Person</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Joined</th>${isAdmin ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
    <tbody>
    ${o.users.map((u) => {
      const self = u.id === o.selfId;
      return html`<tr data-user-id="${u.id}" data-handle="${u.handle}">
      <td data-label="Person"><strong>${u.displayName}</strong><br><span class="muted small">@${u.handle}</span></td>
      <td data-label="Email">${u.email}</td>
      <td data-label="Role">${isAdmin && !self
        ? html`<form method="post" action="/admin/users/${u.id}/role" class="row" data-role-current="${u.role}" data-confirm-action="Change role" data-confirm-demote="Make @${u.handle} a {role}? They lose their current rights and are signed out everywhere at once.">${csrf(o.csrfToken)}${backField}
            <label class="visually-hidden" for="role-${u.id}">Role of @${u.handle}</label>
            <select id="role-${u.id}" name="role">${(['user', 'moderator', 'admin'] as Role[]).map((r) => html`<option value="${r}"${r === u.role ? ' selected' : ''}>${r}</option>`)}</select>
            <button type="submit" class="small">Save</button></form>`
        : html`<span class="badge role-${u.role}">${u.role}</span>${self ? html` <span class="muted small">(you)</span>` : ''}`}</td>
      <td data-label="Status"><span class="badge status-${u.status}">${STATUS_TEXT[u.status]}</span></td>
      <td data-label="Joined">${when(u.createdAt)}</td>
      ${isAdmin
        ? html`<td class="actions-cell" data-label="Actions">${self
            ? html`<span class="muted small">—</span>`
            : html`${u.status === 'active'
                ? html`<form method="post" action="/admin/users/${u.id}/status" class="inline" data-confirm="Ban @${u.handle} (${u.displayName})? They are signed out everywhere, disconnected from chat and cannot log in until reactivated." data-confirm-action="Ban @${u.handle}">${csrf(o.csrfToken)}${backField}<input type="hidden" name="status" value="banned"><button type="submit" class="small danger" aria-label="Ban @${u.handle}">Ban</button></form>
                  <form method="post" action="/admin/users/${u.id}/status" class="inline" data-confirm="Deactivate @${u.handle} (${u.displayName})? They are signed out everywhere and cannot log in until reactivated." data-confirm-action="Deactivate">${csrf(o.csrfToken)}${backField}<input type="hidden" name="status" value="deactivated"><button type="submit" class="small" aria-label="Deactivate @${u.handle}">Deactivate</button></form>`
                : html`<form method="post" action="/admin/users/${u.id}/status" class="inline">${csrf(o.csrfToken)}${backField}<input type="hidden" name="status" value="active"><button type="submit" class="small" aria-label="Reactivate @${u.handle}">Reactivate</button></form>`}
              <form method="post" action="/admin/users/${u.id}/sessions/revoke" class="inline" data-confirm="Sign @${u.handle} out on every device? Their open chat tabs disconnect now." data-confirm-action="Sign out everywhere">${csrf(o.csrfToken)}${backField}<button type="submit" class="small" aria-label="Sign out everywhere: @${u.handle}">Sign out everywhere</button></form>`}</td>`
        : ''}
    </tr>`;
    })}
    </tbody>
  </table>
  </div>
  ${o.users.length ? '' : html`<p class="muted">Nobody matches.</p>`}
  ${pager('/admin/users', params, o.page, pages)}
</section>`);
}

export function roomsAdminPage(o: Shell & { rooms: Room[]; q: string; errors?: Record<string, string>; values?: Record<string, string> }): string {
  const e = o.errors;
  const v = o.values ?? {};
  return shell(o, 'rooms', 'Rooms', html`<div class="grid-2">
<section class="card">
  <h1>Rooms</h1>
  <form method="get" action="/admin/rooms" class="filters" role="search">
    <div><label for="q">Name</label><input id="q" name="q" type="search" value="${o.q}"></div>
    <div><button type="submit">Search</button></div>
  </form>
  <div class="table-wrap">
  <table id="rooms">
    <thead><tr><th scope="col">Room</th><th scope="col">Kind</th><th scope="col" class="num">Members</th><th scope="col" class="num">Messages</th><th scope="col">Actions</th></tr></thead>
    <tbody>${o.rooms.map((r) => html`<tr data-room-id="${r.id}">
      <td data-label="Room"><a href="/admin/rooms/${r.id}">${r.name}</a>${r.archivedAt ? html` <span class="badge">archived</span>` : ''}<br><span class="muted small">${r.topic}</span></td>
      <td data-label="Kind">${r.kind}</td>
      <td class="num" data-label="Members">${r.memberCount}</td>
      <td class="num" data-label="Messages">${r.lastSeq}</td>
      <td class="actions-cell" data-label="Actions">
        <a href="/admin/rooms/${r.id}" class="button small">Members</a>
        <a href="/admin/moderation?room=${r.id}" class="button small">Messages</a>
        <form method="post" action="/admin/rooms/${r.id}/archive" class="inline"${r.archivedAt ? '' : html` data-confirm="Archive ${r.name}? It becomes read-only for everyone at once." data-confirm-action="Archive"`}>${csrf(o.csrfToken)}
          <input type="hidden" name="archived" value="${r.archivedAt ? '0' : '1'}">
          <button type="submit" class="small ${r.archivedAt ? '' : 'danger'}" aria-label="${r.archivedAt ? 'Unarchive' : 'Archive'} ${r.name}">${r.archivedAt ? 'Unarchive' : 'Archive'}</button>
        </form>
      </td>
    </tr>`)}</tbody>
  </table>
  </div>
  ${o.rooms.length ? '' : html`<p class="muted">No rooms.</p>`}
</section>
<section class="card">
  <h2>Create a room</h2>
  <form method="post" action="/admin/rooms" novalidate>
    ${csrf(o.csrfToken)}
    <label for="name">Name</label>
    <input id="name" name="name" required maxlength="80" value="${v.name ?? ''}"${invalidAttrs(e, 'name')}>
    ${fieldError(e, 'name')}
    <label for="topic">Topic <span class="muted">(optional)</span></label>
    <input id="topic" name="topic" maxlength="200" value="${v.topic ?? ''}"${invalidAttrs(e, 'topic')}>
    ${fieldError(e, 'topic')}
    <fieldset><legend>Who can join</legend>
      <label class="radio"><input type="radio" name="kind" value="public" ${v.kind !== 'private' ? 'checked' : ''}> Public</label>
      <label class="radio"><input type="radio" name="kind" value="private" ${v.kind === 'private' ? 'checked' : ''}> Private</label>
    </fieldset>
    <button type="submit" class="primary">Create room</button>
  </form>
</section>
</div>`);
}

export function roomAdminPage(o: Shell & { room: Room; members: RoomMember[]; error?: string; handle?: string; renameErrors?: Record<string, string>; renameValues?: Record<string, string> }): string {
  const errors = o.error ? { handle: o.error } : undefined;
  const r = o.room;
  const re = o.renameErrors;
  const rv = o.renameValues ?? { name: r.name, topic: r.topic };
  return shell(o, 'rooms', `Room ${r.name}`, html`<section class="card">
  <p><a href="/admin/rooms">← All rooms</a></p>
  <h1>${r.kind === 'private' ? lockIcon : '# '}${r.name} ${r.archivedAt ? html`<span class="badge">archived</span>` : ''}</h1>
  <p class="muted">${r.topic}</p>
  <div class="grid-2">
  <div>
    <h2>Members (${o.members.length})</h2>
    <div class="table-wrap">
    <table id="members">
      <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col">Muted until</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>${o.members.map((m) => html`<tr data-user-id="${m.id}">
        <td data-label="Person">${m.displayName} <span class="muted small">@${m.handle}</span></td>
        <td data-label="Role">${m.role}</td>
        <td data-label="Joined">${when(m.joinedAt)}</td>
        <td data-label="Muted until">${m.mutedUntil && m.mutedUntil.getTime() > Date.now() ? when(m.mutedUntil) : '—'}</td>
        <td><form method="post" action="/admin/rooms/${r.id}/members/${m.id}/remove" class="inline" data-confirm="Remove @${m.handle} from ${r.name}? They stop receiving its messages at once." data-confirm-action="Remove">${csrf(o.csrfToken)}<button type="submit" class="small danger" aria-label="Remove @${m.handle} from ${r.name}">Remove</button></form></td>
      </tr>`)}</tbody>
    </table>
    </div>
  </div>
  <div>
    <h2>Add a member</h2>
    <form method="post" action="/admin/rooms/${r.id}/members" novalidate>
      ${csrf(o.csrfToken)}
      <label for="handle">Handle</label>
      <input id="handle" name="handle" placeholder="@handle" value="${o.handle ?? ''}"${invalidAttrs(errors, 'handle')}>
      ${fieldError(errors, 'handle')}
      <button type="submit" class="primary">Add member</button>
    </form>
    <h2>Name and topic</h2>
    <form method="post" action="/admin/rooms/${r.id}/rename" novalidate id="rename-form">
      ${csrf(o.csrfToken)}
      <label for="room-name">Name</label>
      <input id="room-name" name="name" maxlength="80" value="${rv.name ?? ''}"${invalidAttrs(re, 'name')}>
      ${fieldError(re, 'name')}
      <label for="room-topic">Topic</label>
      <input id="room-topic" name="topic" maxlength="200" value="${rv.topic ?? ''}"${invalidAttrs(re, 'topic')}>
      ${fieldError(re, 'topic')}
      <button type="submit">Save</button>
    </form>
  </div>
  </div>
</section>`);
}

export function moderationPage(o: Shell & { rooms: Room[]; room: Room | null; messages: ModerationMessage[]; more: boolean; filter: ModerationFilter; members: RoomMember[]; mutes?: MutedPerson[]; muteErrors?: Record<string, string>; muteValues?: Record<string, string> }): string {
  const e = o.muteErrors;
  const mv = o.muteValues ?? {};
  // Mutes in force, members or not (a public room's mute may name someone who has not joined it).
  const muted = o.mutes ?? o.members.filter((m) => m.mutedUntil && m.mutedUntil.getTime() > Date.now());
  const f = o.filter;
  const filtered = Boolean(f.q || f.author || f.state);
  const oldest = o.messages.at(-1);
  return shell(o, 'moderation', 'Moderation', html`<section class="card">
  <h1>Moderation</h1>
  <form method="get" action="/admin/moderation" class="filters" role="search">
    <div><label for="room">Room</label><select id="room" name="room">
      ${o.rooms.map((r) => html`<option value="${r.id}"${o.room?.id === r.id ? ' selected' : ''}>${r.kind === 'private' ? '' : '# '}${r.name}${r.kind === 'private' ? ' (private)' : ''}${r.archivedAt ? ' (archived)' : ''}</option>`)}
    </select></div>
    <div><label for="q">Text or @handle</label><input id="q" name="q" type="search" value="${f.q}"></div>
    <div><label for="author">Author</label><input id="author" name="author" value="${f.author ? `@${f.author}` : ''}" placeholder="@handle"></div>
    <div><label for="state">Messages</label><select id="state" name="state">
      ${[['', 'all'], ['live', 'not deleted'], ['deleted', 'deleted']].map(([v, l]) => html`<option value="${v}"${v === f.state ? ' selected' : ''}>${l}</option>`)}
    </select></div>
    <div><button type="submit">Show</button></div>
  </form>
</section>
${o.room
  ? html`<div class="grid-2">
<section class="card">
  <h2>${f.before ? 'Older messages' : 'Latest messages'} in ${o.room.name}${filtered ? html` <span class="muted small">(filtered)</span>` : ''}</h2>
  <div class="table-wrap">
  <table id="mod-messages">
    <thead><tr><th scope="col">#</th><th scope="col">Author</th><th scope="col">Message</th><th scope="col">Sent</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>${o.messages.map((m) => html`<tr data-seq="${m.seq}"${m.deletedAt ? html` class="deleted"` : ''}>
      <td class="muted" data-label="#">${m.seq}</td>
      <td data-label="Author">${m.author.displayName}<br><span class="muted small">@${m.author.handle}</span></td>
      <td class="msg-body" data-label="Message" dir="auto">${m.deletedAt ? html`<em class="muted">deleted</em> <s>${m.body}</s>` : m.body}</td>
      <td data-label="Sent">${when(m.createdAt)}</td>
      <td>${m.deletedAt ? '' : html`<form method="post" action="/admin/moderation/delete" class="inline" data-confirm="Delete message ${m.seq} by @${m.author.handle} for everyone? “${m.body.length > 80 ? `${m.body.slice(0, 79)}…` : m.body}”" data-confirm-action="Delete">${csrf(o.csrfToken)}
        <input type="hidden" name="room" value="${o.room!.id}"><input type="hidden" name="seq" value="${m.seq}"><input type="hidden" name="q" value="${f.q}"><input type="hidden" name="author" value="${f.author}"><input type="hidden" name="state" value="${f.state}">${f.before ? html`<input type="hidden" name="before" value="${f.before}">` : ''}
        <button type="submit" class="small danger" aria-label="Delete message ${m.seq} by @${m.author.handle}">Delete</button></form>`}</td>
    </tr>`)}</tbody>
  </table>
  </div>
  ${o.messages.length ? '' : html`<p class="muted">${filtered ? 'No messages match.' : 'No messages.'}</p>`}
  ${f.before || o.more
    ? html`<nav class="pager" aria-label="Pages">
    ${f.before ? html`<a href="${moderationUrl(o.room.id, { ...f, before: null })}" rel="first">← Newest</a>` : html`<span class="muted">← Newest</span>`}
    ${o.more && oldest ? html`<a href="${moderationUrl(o.room.id, { ...f, before: oldest.seq })}" rel="next">Older →</a>` : html`<span class="muted">Older →</span>`}
  </nav>`
    : ''}
</section>
<div class="stack">
<section class="card">
  <h2>Mute someone in ${o.room.name}</h2>
  <form method="post" action="/admin/moderation/mute" novalidate id="mute-form">
    ${csrf(o.csrfToken)}
    <input type="hidden" name="room" value="${o.room.id}">
    <label for="mute-handle">Handle</label>
    <input id="mute-handle" name="handle" placeholder="@handle" value="${mv.handle ?? ''}"${invalidAttrs(e, 'handle')}>
    ${fieldError(e, 'handle')}
    <label for="minutes">For</label>
    <select id="minutes" name="minutes">
      ${[[5, '5 minutes'], [15, '15 minutes'], [60, '1 hour'], [1440, '24 hours'], [10080, '7 days']].map(([m, label]) => html`<option value="${m}"${String(m) === (mv.minutes ?? '15') ? ' selected' : ''}>${label}</option>`)}
    </select>
    <button type="submit" class="primary">Mute</button>
  </form>
</section>
<section class="card">
  <h2>Muted now</h2>
  ${muted.length
    ? html`<ul class="plain" id="muted">${muted.map((m) => html`<li>${m.displayName} <span class="muted small">@${m.handle} until ${when(m.mutedUntil!)}</span>
        <form method="post" action="/admin/moderation/unmute" class="inline">${csrf(o.csrfToken)}<input type="hidden" name="room" value="${o.room!.id}"><input type="hidden" name="userId" value="${m.id}"><button type="submit" class="small">Unmute</button></form></li>`)}</ul>`
    : html`<p class="muted">Nobody is muted here.</p>`}
</section>
</div>
</div>`
  : html`<p class="muted">There are no rooms yet.</p>`}`);
}

function usageTable(id: string, caption: string, who: string, rows: UsageRow[], link: (r: UsageRow) => SafeHtml): SafeHtml {
  return html`<div class="table-wrap">
  <table id="${id}">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">${who}</th><th scope="col" class="num">Files</th><th scope="col" class="num">Storage used</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr>
      <td data-label="${who}">${link(r)}</td>
      <td data-label="Files" class="num">${r.files.toLocaleString('en')}</td>
      <td data-label="Storage used" class="num"><span title="${r.bytes.toLocaleString('en')} bytes">${formatBytes(r.bytes)}</span></td>
    </tr>`)}</tbody>
  </table>
  </div>
  ${rows.length ? '' : html`<p class="muted">No files stored.</p>`}`;
}

/** Attachment storage per person and per room (files and thumbnails, not yet deleted), largest first. */
export function storagePage(o: Shell & { byUser: UsageRow[]; byRoom: UsageRow[] }): string {
  return shell(o, 'storage', 'Storage', html`<section class="card">
  <h1>Storage</h1>
  <p class="muted">Uploaded files and their thumbnails, largest first (the top 100 of each). Deleted files are removed by the sweeper within minutes. Also as JSON: <a href="/admin/api/storage">/admin/api/storage</a>.</p>
  ${usageTable('storage-by-user', 'By person', 'Person', o.byUser, (r) => html`<a href="/admin/users?q=${r.label}">@${r.label}</a>`)}
  ${usageTable('storage-by-room', 'By room', 'Room', o.byRoom, (r) => html`<a href="/admin/rooms/${String(r.id)}">${r.label}</a>`)}
</section>`);
}

export function auditPage(o: Shell & { entries: AuditEntry[]; total: number; page: number; pageSize: number; filter: Record<string, string>; actions: string[] }): string {
  const f = o.filter;
  const pages = Math.max(1, Math.ceil(o.total / o.pageSize));
  return shell(o, 'audit', 'Audit log', html`<section class="card">
  <h1>Audit log <span class="muted small">${o.total} entries</span></h1>
  <form method="get" action="/admin/audit" class="filters" role="search">
    <div><label for="actor">Who</label><input id="actor" name="actor" value="${f.actor ?? ''}" placeholder="@handle"></div>
    <div><label for="action">Action</label><select id="action" name="action">
      <option value="">any</option>
      ${o.actions.map((a) => html`<option value="${a}"${a === f.action ? ' selected' : ''}>${a}</option>`)}
    </select></div>
    <div><label for="targetType">Target</label><select id="targetType" name="targetType">
      ${['', 'user', 'room', 'message'].map((t) => html`<option value="${t}"${t === (f.targetType ?? '') ? ' selected' : ''}>${t || 'any'}</option>`)}
    </select></div>
    <div><label for="targetId">Target id</label><input id="targetId" name="targetId" value="${f.targetId ?? ''}" inputmode="numeric"></div>
    <div><label for="since">Since</label><select id="since" name="since">
      ${[['', 'any time'], ['1h', 'last hour'], ['24h', 'last 24 hours'], ['7d', 'last 7 days']].map(([v, l]) => html`<option value="${v}"${v === (f.since ?? '') ? ' selected' : ''}>${l}</option>`)}
    </select></div>
    <div><button type="submit">Filter</button></div>
  </form>
  <div class="table-wrap">
  <table id="audit">
    <thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What happened</th><th scope="col">IP</th></tr></thead>
    <tbody>${o.entries.map((a) => html`<tr data-action="${a.action}">
      <td data-label="When (UTC)">${when(a.createdAt)}</td>
      <td data-label="Who">${a.actor ? html`${a.actor.displayName} <span class="muted small">@${a.actor.handle}</span>` : html`<span class="muted">system</span>`}</td>
      <td data-label="What happened">${auditSentence(a)}${a.details.chatNotified === false ? html` <span class="badge status-banned">chat not told</span>` : ''}
        <br><span class="muted small"><code>${a.action}</code></span></td>
      <td data-label="IP"><code class="ip">${a.ip ?? ''}</code></td>
    </tr>`)}</tbody>
  </table>
  </div>
  ${o.entries.length ? '' : html`<p class="muted">No entries match.</p>`}
  ${pager('/admin/audit', f, o.page, pages)}
</section>`);
}

const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const userLink = (handle: unknown) => (handle ? html`<a href="/admin/users?q=${str(handle)}">@${str(handle)}</a>` : html`someone`);
const roomLink = (id: unknown, name?: unknown) => html`<a href="/admin/rooms/${str(id)}">${name ? str(name) : `room ${str(id)}`}</a>`;

/** An audit entry in words, with links to what it is about (the raw action stays below it). */
export function auditSentence(a: AuditEntry): SafeHtml {
  const d = a.details;
  switch (a.action) {
    case 'user.banned': return html`Banned ${userLink(d.handle)}`;
    case 'user.deactivated': return html`Deactivated ${userLink(d.handle)}`;
    case 'user.reactivated': return html`Reactivated ${userLink(d.handle)}`;
    case 'user.role_changed': return html`Changed ${userLink(d.handle)}'s role from ${str(d.from)} to ${str(d.to)}${Number(d.sessionsEnded) > 0 ? html` (signed out of ${str(d.sessionsEnded)} session${Number(d.sessionsEnded) === 1 ? '' : 's'})` : ''}`;
    case 'user.sessions_revoked': return html`Signed ${userLink(d.handle)} out everywhere (${str(d.sessionsEnded)} session${Number(d.sessionsEnded) === 1 ? '' : 's'})`;
    case 'user.muted': return html`Muted ${userLink(d.handle)}${d.room ? html` in ${roomLink(d.room)}` : ' everywhere'}${d.minutes ? ` for ${str(d.minutes)} minutes` : ''}`;
    case 'user.unmuted': return html`Unmuted ${userLink(d.handle)}${d.room ? html` in ${roomLink(d.room)}` : ''}`;
    case 'room.created': return html`Created the ${str(d.kind)} room ${roomLink(a.targetId, d.name)}`;
    case 'room.archived': return html`Archived ${roomLink(a.targetId, d.name)}`;
    case 'room.unarchived': return html`Reopened ${roomLink(a.targetId, d.name)}`;
    case 'room.member_added': return html`Added ${userLink(d.handle)} to ${roomLink(a.targetId, d.name)}`;
    case 'room.member_removed': return html`Removed ${userLink(d.handle)} from ${roomLink(a.targetId, d.name)}`;
    // Group conversations are private: no link (the admin room pages list no direct conversations).
    case 'room.member_left': return html`${userLink(d.handle)} left a group conversation`;
    case 'message.deleted': return html`Deleted <a href="/admin/moderation?room=${str(d.room)}">message ${str(d.seq)}</a> in ${roomLink(d.room)}${d.excerpt ? html`: “${str(d.excerpt)}”` : ''}`;
    case 'user.bootstrap_admin': return html`Created the first administrator account at start-up`;
    default: return html`${a.action} on ${a.targetType} ${a.targetId ?? ''}`;
  }
}

export function dashboardPage(o: Shell & { data: DashboardData }): string {
  return shell({ ...o, scripts: ['/static/dashboard.js'] }, 'dashboard', 'Dashboard', html`<div class="card-head">
  <h1>Dashboard</h1>
  <p class="muted small" role="status" aria-live="polite"><span id="dash-updated" data-at="${o.data.at}">Updated ${o.data.at.slice(11, 19)} UTC</span> · refreshes every 3 s</p>
</div>
<div id="dashboard" data-endpoint="/admin/api/dashboard">${dashboardBody(o.data)}</div>`);
}
