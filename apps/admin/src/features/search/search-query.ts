// The search box's little language: words, "exact phrases", prefix*, -excluded, and the filters
// in:#room (in:"#room name" with spaces), from:@handle, before:YYYY-MM-DD and after:YYYY-MM-DD. Anything unrecognised is a word, so
// no input is an error.

export interface SearchQuery {
  /** Words every result contains (in any order). */
  words: string[];
  /** Exact phrases (words next to each other, in order). */
  phrases: string[];
  /** Word beginnings (`deplo*`). */
  prefixes: string[];
  /** Words no result contains (`-word`). */
  excluded: string[];
  /** Room names (`in:#general`), any of them. */
  rooms: string[];
  /** Author handles (`from:@ann`), any of them. */
  authors: string[];
  /** Messages before the start of this UTC day. */
  before: string | null;
  /** Messages on or after the start of the day after this one (UTC): `after:` excludes the day itself. */
  after: string | null;
}

/** `in:"#Room name"` (a room name with spaces), `-"phrase"` / `"phrase"`, or one word. */
const TOKEN = /in:"#?([^"]*)"?|(-?)"([^"]*)"?|(\S+)/gi;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

export function parseSearchQuery(input: string): SearchQuery {
  const query: SearchQuery = { words: [], phrases: [], prefixes: [], excluded: [], rooms: [], authors: [], before: null, after: null };
  for (const match of input.slice(0, 500).matchAll(TOKEN)) {
    const [, quotedRoom, minus, phrase, token] = match;
    if (quotedRoom !== undefined) {
      if (quotedRoom.trim()) query.rooms.push(quotedRoom.trim());
      continue;
    }
    if (phrase !== undefined) {
      if (!phrase.trim()) continue;
      if (minus) query.excluded.push(phrase.trim());
      else query.phrases.push(phrase.trim());
      continue;
    }
    const word = token!;
    const filter = /^(in|from|before|after):(.+)$/i.exec(word);
    if (filter?.[1] && filter[2]) {
      const name = filter[1].toLowerCase();
      const value = filter[2];
      if (name === 'in') { query.rooms.push(value.replace(/^#/, '')); continue; }
      if (name === 'from') { query.authors.push(value.replace(/^@/, '').toLowerCase()); continue; }
      if (isDate(value)) { query[name as 'before' | 'after'] = value; continue; }
    }
    if (word.length > 1 && word.startsWith('-')) query.excluded.push(word.slice(1));
    else if (word.length > 1 && word.endsWith('*')) query.prefixes.push(word.replace(/\*+$/, ''));
    else query.words.push(word);
  }
  return query;
}

/** Whether the query says anything about message text (otherwise only filters apply). */
export function hasText(query: SearchQuery): boolean {
  return query.words.length + query.phrases.length + query.prefixes.length > 0;
}

/** Whether there is anything to search for at all. */
export function isEmpty(query: SearchQuery): boolean {
  return !hasText(query) && query.rooms.length + query.authors.length === 0 && !query.before && !query.after;
}

/**
 * The letter and digit runs of a prefix, each as `run:*`, for to_tsquery: its syntax characters
 * (& | ! ( ) : * ' \) never reach it, so input cannot break or widen the query.
 */
export function prefixTsquery(prefix: string): string | null {
  const runs = prefix.match(/[\p{L}\p{N}]+/gu);
  return runs ? runs.map((run) => `${run}:*`).join(' & ') : null;
}
