import { html } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout, type ViewUser } from '../../views/layout.ts';
import type { SessionRecord } from '../../sessions/session-store.ts';
import { ago, describeDevice } from './device.ts';

export interface ProfileViewOptions {
  user: ViewUser & { email: string };
  csrfToken: string;
  sessions: SessionRecord[];
  currentSessionId: string;
  flash?: string | null;
  profileValues?: { handle: string; displayName: string };
  profileErrors?: Record<string, string>;
  passwordErrors?: Record<string, string>;
}

export function profilePage(o: ProfileViewOptions): string {
  const pv = o.profileValues ?? { handle: o.user.handle, displayName: o.user.displayName };
  const pe = o.profileErrors;
  const we = o.passwordErrors;
  const others = o.sessions.filter((s) => s.id !== o.currentSessionId).length;
  return layout(
    { title: 'Your profile', user: o.user, csrfToken: o.csrfToken, active: 'profile', flash: o.flash },
    html`<div class="stack">
<div class="grid-2 even">
  <section class="card" aria-labelledby="profile-h">
    <h1 id="profile-h">Your profile</h1>
    <p class="muted">Signed in as <strong>${o.user.email}</strong></p>
    <form method="post" action="/profile" novalidate id="profile-form">
      <input type="hidden" name="_csrf" value="${o.csrfToken}">
      <label for="displayName">Display name</label>
      <input id="displayName" name="displayName" required maxlength="60" autocomplete="name" value="${pv.displayName}"${invalidAttrs(pe, 'displayName')}>
      ${fieldError(pe, 'displayName')}
      <label for="handle">Handle</label>
      <input id="handle" name="handle" required pattern="[A-Za-z0-9_]{3,32}" autocomplete="username" value="${pv.handle}"${invalidAttrs(pe, 'handle')}>
      <p class="hint">3–32 letters, digits or underscores.</p>
      ${fieldError(pe, 'handle')}
      <button type="submit" class="primary">Save profile</button>
    </form>
  </section>
  <section class="card" aria-labelledby="password-h">
    <h2 id="password-h">Change password</h2>
    <form method="post" action="/profile/password" novalidate id="password-form">
      <input type="hidden" name="_csrf" value="${o.csrfToken}">
      <input type="text" name="username" autocomplete="username" value="${o.user.email}" hidden>
      <label for="currentPassword">Current password</label>
      <input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password" required${invalidAttrs(we, 'currentPassword')}>
      ${fieldError(we, 'currentPassword')}
      <label for="newPassword">New password</label>
      <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required minlength="12"${invalidAttrs(we, 'newPassword')}>
      <p class="hint">At least 12 characters and hard to guess. Your other sessions are signed out.</p>
      ${fieldError(we, 'newPassword')}
      <label for="confirmPassword">Repeat new password</label>
      <input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required${invalidAttrs(we, 'confirmPassword')}>
      ${fieldError(we, 'confirmPassword')}
      <button type="submit" class="primary">Change password</button>
    </form>
  </section>
</div>
<section class="card" aria-labelledby="sessions-h">
  <div class="card-head">
    <h2 id="sessions-h">Where you're signed in</h2>
    ${others > 0
      ? html`<form method="post" action="/profile/sessions/revoke-others" class="inline">
          <input type="hidden" name="_csrf" value="${o.csrfToken}">
          <button type="submit" class="danger">Sign out all other sessions (${others})</button>
        </form>`
      : ''}
  </div>
  <div class="table-wrap">
  <table id="sessions">
    <thead><tr><th scope="col">Device</th><th scope="col">IP address</th><th scope="col">Last active</th><th scope="col">Signed in</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>
    ${o.sessions.map((s) => {
      const current = s.id === o.currentSessionId;
      return html`<tr data-session="${s.id.slice(0, 12)}"${current ? html` class="current"` : ''}>
        <td>${describeDevice(s.userAgent)} ${current ? html`<span class="badge ok">this device</span>` : ''}</td>
        <td><code>${s.ip}</code></td>
        <td><time datetime="${new Date(s.lastSeenAt).toISOString()}">${ago(s.lastSeenAt)}</time></td>
        <td><time datetime="${new Date(s.createdAt).toISOString()}">${ago(s.createdAt)}</time></td>
        <td class="right">
          <form method="post" action="/profile/sessions/revoke" class="inline">
            <input type="hidden" name="_csrf" value="${o.csrfToken}">
            <input type="hidden" name="session" value="${s.id}">
            <button type="submit" class="small ${current ? '' : 'danger'}" aria-label="${current ? 'Sign out on this device' : `Revoke session on ${describeDevice(s.userAgent)} from ${s.ip}`}">${current ? 'Sign out' : 'Revoke'}</button>
          </form>
        </td>
      </tr>`;
    })}
    </tbody>
  </table>
  </div>
</section>
</div>`,
  );
}
