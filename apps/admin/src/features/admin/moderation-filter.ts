// The moderation page's filters (text, author, live or deleted) and page (`before`, a seq): read from a
// query string or a delete form's hidden fields, and written back into links and redirects.
import type { ModerationFilter } from '../rooms/room-repository.ts';
import { id, str } from './http.ts';

export const NO_FILTER: ModerationFilter = { q: '', author: '', state: '', before: null };

/** The page's filters from a query string or a form's hidden fields; anything unexpected is dropped. */
export function moderationFilterOf(input: Record<string, unknown>): ModerationFilter {
  const state = str(input.state);
  const before = id.safeParse(input.before);
  return {
    q: str(input.q, 100),
    author: str(input.author, 40).toLowerCase().replace(/^@/, ''),
    state: state === 'live' || state === 'deleted' ? state : '',
    before: before.success ? before.data : null,
  };
}

/** The moderation page of a room with these filters (and page, `before`): a relative URL. */
export function moderationUrl(roomId: number, f: Partial<ModerationFilter> = NO_FILTER): string {
  const params = new URLSearchParams({ room: String(roomId) });
  if (f.q) params.set('q', f.q);
  if (f.author) params.set('author', f.author);
  if (f.state) params.set('state', f.state);
  if (f.before) params.set('before', String(f.before));
  return `/admin/moderation?${params.toString()}`;
}
