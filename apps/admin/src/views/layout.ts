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
  active?: 'rooms' | 'profile' | 'admin' | 'dashboard';
  flash?: string | null;
}

export function layout(opts: LayoutOptions, body: SafeHtml): string {
  const { user } = opts;
  const staff = user && (user.role === 'admin' || user.role === 'moderator');
  const nav = user
    ? html`<nav class="nav" aria-label="Main">
        <a href="/rooms" class="${opts.active === 'rooms' ? 'active' : ''}">Rooms</a>
        ${staff ? html`<a href="/admin" class="${opts.active === 'admin' ? 'active' : ''}">Admin</a>` : ''}
        ${staff ? html`<a href="/admin/dashboard" class="${opts.active === 'dashboard' ? 'active' : ''}">Dashboard</a>` : ''}
        <a href="/profile" class="${opts.active === 'profile' ? 'active' : ''}">@${user.handle}</a>
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
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Parley</title>
<link rel="stylesheet" href="/static/style.css">
${opts.csrfToken ? html`<meta name="csrf-token" content="${opts.csrfToken}">` : ''}
</head>
<body>
<header class="topbar"><a href="/" class="brand">Parley</a>${nav}</header>
<main id="main" class="container">
${opts.flash ? html`<p class="flash" role="status">${opts.flash}</p>` : ''}
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
