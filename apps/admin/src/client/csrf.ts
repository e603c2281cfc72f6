// The page's CSRF token (a <meta> the server renders), for the client's form posts and fetch writes.
export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}
