// Full-text search over the messages a person may read: public rooms, and private rooms and direct
// conversations they are a member of (removed: no longer). Deleted messages never match. Newest first,
// paged by keyset on (created_at, room_id, seq), so a page costs the same however deep it is and new
// messages never shift the pages already shown. Excerpts come from ts_headline, as plain text plus
// highlight ranges: the browser renders them as text, so a message body can never become markup.
import type { Pool } from '@parley/db';
import { hasText, isEmpty, prefixTsquery, type SearchQuery } from './search-query.ts';
import type { SearchHit, SearchPage } from './search-result.ts';

export type { SearchHit, SearchPage } from './search-result.ts';

export const SEARCH_PAGE_SIZE = 20;
const CONFIG = `'parley_search'::regconfig`;
const START = '\u0002';
const STOP = '\u0003';
const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, MaxWords=35, MinWords=15, ShortWord=2`;
const PLAIN_EXCERPT_CHARS = 240;
// ts_headline drops anything its parser takes for an XML tag (`<b>`, `<div class=x>`): angle brackets
// go through it as two private-use characters and come back afterwards. The sentinels and those two
// characters are removed from bodies first (nothing in a body can pose as a highlight).
const LT = '\ue000';
const GT = '\ue001';
const PROTECT = `translate(p.body, '<>' || chr(57344) || chr(57345) || chr(2) || chr(3), chr(57344) || chr(57345))`;

/** Microsecond UTC timestamps (a JS Date would drop the microseconds and break ties). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface Cursor {
  createdAt: string;
  roomId: number;
  seq: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.roomId, cursor.seq])).toString('base64url');
}

/** A cursor from the client, or null when it is not one of ours. */
export function decodeCursor(text: string): Cursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3) return null;
    const [createdAt, roomId, seq] = value as unknown[];
    if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt))) return null;
    if (!Number.isSafeInteger(roomId) || !Number.isSafeInteger(seq)) return null;
    return { createdAt, roomId: roomId as number, seq: seq as number };
  } catch {
    return null;
  }
}

/** Split ts_headline's output at the sentinels into text and highlight ranges. */
export function splitHighlights(marked: string): { excerpt: string; highlights: Array<[number, number]> } {
  let excerpt = '';
  const highlights: Array<[number, number]> = [];
  let start = -1;
  for (const char of marked) {
    if (char === START) start = excerpt.length;
    else if (char === STOP) {
      if (start >= 0 && excerpt.length > start) highlights.push([start, excerpt.length]);
      start = -1;
    } else excerpt += char === LT ? '<' : char === GT ? '>' : char;
  }
  return { excerpt, highlights };
}

interface HitRow {
  room_id: string;
  room_name: string;
  room_kind: SearchHit['roomKind'];
  seq: string;
  created_at: Date;
  cursor_at: string;
  author_id: string;
  handle: string;
  display_name: string;
  marked: string;
}

/** Builds one parameterised statement: the values always travel as parameters. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The tsquery of the query's text (null: none), as SQL over parameters. */
function tsqueryExpression(query: SearchQuery, params: Params): string | null {
  const parts: string[] = [];
  if (query.words.length) parts.push(`plainto_tsquery(${CONFIG}, ${params.add(query.words.join(' '))})`);
  for (const phrase of query.phrases) parts.push(`phraseto_tsquery(${CONFIG}, ${params.add(phrase)})`);
  for (const prefix of query.prefixes) {
    const text = prefixTsquery(prefix);
    if (text) parts.push(`to_tsquery(${CONFIG}, ${params.add(text)})`);
  }
  return parts.length ? parts.join(' && ') : null;
}

export class SearchRepository {
  constructor(private readonly pool: Pool) {}

  async search(userId: number, query: SearchQuery, options: { before?: Cursor | null; limit?: number } = {}): Promise<SearchPage> {
    const limit = Math.min(Math.max(options.limit ?? SEARCH_PAGE_SIZE, 1), 100);
    if (isEmpty(query)) return { hits: [], nextCursor: null };
    const params = new Params();
    const me = params.add(userId);
    const where = [
      'm.deleted_at IS NULL',
      `(r.kind = 'public' OR EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = m.room_id AND rm.user_id = ${me}))`,
    ];
    const tsquery = hasText(query) ? tsqueryExpression(query, params) : null;
    if (hasText(query) && !tsquery) return { hits: [], nextCursor: null }; // only prefixes without letters
    // The same expression as the index (messages_search_idx), or it is not used.
    if (tsquery) where.push(`parley_search_vector(m.body) @@ (${tsquery})`);
    for (const excluded of query.excluded) where.push(`NOT parley_search_vector(m.body) @@ phraseto_tsquery(${CONFIG}, ${params.add(excluded)})`);
    if (query.rooms.length) where.push(`lower(r.name) = ANY(${params.add(query.rooms.map((r) => r.toLowerCase()))}::text[]) AND r.kind <> 'direct'`);
    if (query.authors.length) where.push(`m.author_id IN (SELECT id FROM users WHERE handle = ANY(${params.add(query.authors)}::text[]))`);
    if (query.before) where.push(`m.created_at < (${params.add(query.before)}::date)::timestamp AT TIME ZONE 'UTC'`);
    if (query.after) where.push(`m.created_at >= (${params.add(query.after)}::date + 1)::timestamp AT TIME ZONE 'UTC'`);
    if (options.before) {
      where.push(`(m.created_at, m.room_id, m.seq) < (${params.add(options.before.createdAt)}::timestamptz, ${params.add(options.before.roomId)}::bigint, ${params.add(options.before.seq)}::bigint)`);
    }
    const excerpt = tsquery
      ? `ts_headline(${CONFIG}, ${PROTECT}, ${tsquery}, ${params.add(HEADLINE_OPTIONS)})`
      : `left(${PROTECT}, ${PLAIN_EXCERPT_CHARS})`;
    const pageSize = params.add(limit + 1);
    // The page is chosen first; ts_headline (re-parsing each body) then runs on its rows only.
    const { rows } = await this.pool.query<HitRow>(
      `SELECT p.room_id, p.room_name, p.room_kind, p.seq, p.created_at, to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
              u.id AS author_id, u.handle, u.display_name, ${excerpt} AS marked
         FROM (SELECT m.room_id, r.name AS room_name, r.kind AS room_kind, m.seq, m.created_at, m.author_id, m.body
                 FROM messages m JOIN rooms r ON r.id = m.room_id
                WHERE ${where.join('\n AND ')}
                ORDER BY m.created_at DESC, m.room_id DESC, m.seq DESC
                LIMIT ${pageSize}) p
         JOIN users u ON u.id = p.author_id
        ORDER BY p.created_at DESC, p.room_id DESC, p.seq DESC`,
      params.values,
    );
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page.at(-1) : undefined;
    return {
      hits: page.map((row) => ({
        roomId: Number(row.room_id),
        roomName: row.room_kind === 'direct' ? null : row.room_name,
        roomKind: row.room_kind,
        seq: Number(row.seq),
        createdAt: row.created_at.toISOString(),
        author: { id: Number(row.author_id), handle: row.handle, displayName: row.display_name },
        ...splitHighlights(row.marked),
      })),
      nextCursor: last ? encodeCursor({ createdAt: last.cursor_at, roomId: Number(last.room_id), seq: Number(last.seq) }) : null,
    };
  }
}
