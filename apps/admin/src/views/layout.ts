import { html, type SafeHtml } from './html.ts';

export interface ViewUser {
  handle: string;
  displayName: string;
  role: 'user' | 'moderator' | 'admin';
}

export interface LayoutOptions {
  title: string;
  user?: ViewUser | null;
  csrfToken?: string;
  scripts?: string[];
  /** Marks the current nav entry. */
  active?: 'chat' | 'rooms' | 'profile' | 'admin' | 'dashboard';
  flash?: string | null;
  /** The chat client: a full-height app under a slim top bar instead of a centred page. */
  shell?: boolean;
}

const current = (opts: LayoutOptions, entry: NonNullable<LayoutOptions['active']>) =>
  opts.active === entry ? html` class="active" aria-current="page"` : html``;

export function layout(opts: LayoutOptions, body: SafeHtml): string {
  const { user } = opts;
  const staff = user && (user.role === 'admin' || user.role === 'moderator');
  // One entry per destination: the admin area has its own tabs (dashboard included).
  const nav = user
    ? html`<nav class="nav" aria-label="Main">
        <a href="/chat"${current(opts, 'chat')}>Chat</a>
        <a href="/rooms"${current(opts, 'rooms')}>Rooms</a>
        ${staff ? html`<a href="/admin"${opts.active === 'admin' || opts.active === 'dashboard' ? html` class="active" aria-current="page"` : html``}>Admin</a>` : ''}
        <a href="/profile"${current(opts, 'profile')}>@${user.handle}</a>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="_csrf" value="${opts.csrfToken ?? ''}">
          <button type="submit" class="link">Log out</button>
        </form>
      </nav>`
    : html`<nav class="nav" aria-label="Main"><a href="/login">Log in</a><a href="/signup">Sign up</a></nav>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content">
<meta name="color-scheme" content="light dark">
<title>${opts.title} · Parley</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/theme.js"></script>
${opts.csrfToken ? html`<meta name="csrf-token" content="${opts.csrfToken}">` : ''}
</head>
<body class="${opts.shell ? 'shell' : ''}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  ${opts.shell ? html`<button type="button" class="icon-button drawer-toggle" id="drawer-toggle" aria-label="Conversations" aria-controls="sidebar" aria-expanded="false"><span aria-hidden="true">☰</span></button>` : ''}
  <a href="/" class="brand">Parley</a>${nav}
  <button type="button" class="icon-button theme-toggle" id="theme-toggle" aria-label="Colour theme: system" title="Colour theme"><span aria-hidden="true" class="theme-icon"></span></button>
</header>
<main id="main" class="${opts.shell ? 'shell-main' : 'container'}">
${opts.flash && !opts.shell ? html`<p class="flash" role="status">${opts.flash}</p>` : ''}
${body}
</main>
${(opts.scripts ?? []).map((src) => html`<script type="module" src="${src}"></script>`)}
</body>
</html>`.value;
}

export function fieldError(errors: Record<string, string> | undefined, field: string): SafeHtml {
  const message = errors?.[field];
  return message ? html`<p class="field-error" id="${field}-error" role="alert">${message}</p>` : html``;
}

export function invalidAttrs(errors: Record<string, string> | undefined, field: string): SafeHtml {
  return errors?.[field] ? html` aria-invalid="true" aria-describedby="${field}-error"` : html``;
}
