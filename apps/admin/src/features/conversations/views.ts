import { html } from '../../views/html.ts';
import { layout, type ViewUser } from '../../views/layout.ts';
import type { ChatShellData } from './shell-data.ts';

/**
 * The chat client's shell: the single-page app (client/app.tsx) renders into #app. Everything it needs
 * to start rides in data attributes (no inline script: the CSP forbids it).
 */
export function chatPage(opts: {
  user: ViewUser & { id: number }; csrfToken: string; chatUrl: string; roomId: number | null;
  flash?: string | null; inviteError?: string; inviteValue?: string; initial?: ChatShellData;
}): string {
  return layout(
    { title: 'Chat', user: opts.user, csrfToken: opts.csrfToken, active: 'chat', scripts: ['/static/app.js'], shell: true },
    html`<div id="app" class="app" data-room-id="${opts.roomId ?? ''}" data-chat-url="${opts.chatUrl}" data-user-id="${opts.user.id}"
  data-handle="${opts.user.handle}" data-display-name="${opts.user.displayName}" data-role="${opts.user.role}"
  data-flash="${opts.flash ?? ''}" data-invite-error="${opts.inviteError ?? ''}" data-invite-value="${opts.inviteValue ?? ''}"
  data-initial="${opts.initial ? JSON.stringify(opts.initial) : ''}">
  <noscript><p class="card">The chat needs JavaScript. <a href="/rooms">Browse rooms</a></p></noscript>
  <p class="app-loading muted" id="app-loading">Loading your conversations…</p>
</div>`,
  );
}
