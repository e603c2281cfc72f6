import { html } from '../../views/html.ts';
import { fieldError, invalidAttrs, layout } from '../../views/layout.ts';

export function signupPage(opts: { csrfToken: string; values?: Record<string, string>; errors?: Record<string, string> }): string {
  const v = opts.values ?? {};
  const e = opts.errors;
  return layout(
    { title: 'Sign up' },
    html`<section class="card narrow">
  <h1>Create your account</h1>
  <form method="post" action="/signup" novalidate>
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required value="${v.email ?? ''}"${invalidAttrs(e, 'email')}>
    ${fieldError(e, 'email')}
    <label for="handle">Handle</label>
    <input id="handle" name="handle" autocomplete="username" required pattern="[A-Za-z0-9_]{3,32}" value="${v.handle ?? ''}"${invalidAttrs(e, 'handle')}>
    <p class="hint">3–32 letters, digits or underscores; people mention you with @handle.</p>
    ${fieldError(e, 'handle')}
    <label for="displayName">Display name</label>
    <input id="displayName" name="displayName" autocomplete="name" required maxlength="60" value="${v.displayName ?? ''}"${invalidAttrs(e, 'displayName')}>
    ${fieldError(e, 'displayName')}
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12"${invalidAttrs(e, 'password')}>
    <p class="hint">At least 12 characters and hard to guess: a few unrelated words work well.</p>
    ${fieldError(e, 'password')}
    <button type="submit" class="primary">Sign up</button>
  </form>
  <p>Already have an account? <a href="/login">Log in</a></p>
</section>`,
  );
}

export function loginPage(opts: { csrfToken: string; next: string; email?: string; error?: string; notice?: string }): string {
  return layout(
    { title: 'Log in' },
    html`<section class="card narrow">
  <h1>Log in to Parley</h1>
  ${opts.notice ? html`<p class="flash" role="status" id="login-notice">${opts.notice}</p>` : ''}
  ${opts.error ? html`<p class="form-error" role="alert" id="login-error">${opts.error}</p>` : ''}
  <form method="post" action="/login">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <input type="hidden" name="next" value="${opts.next}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required value="${opts.email ?? ''}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="primary">Log in</button>
  </form>
  <p>New here? <a href="/signup">Create an account</a></p>
</section>`,
  );
}
