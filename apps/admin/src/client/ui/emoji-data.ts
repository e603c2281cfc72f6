// The emoji picker's data: the Unicode emoji list (unicode-emoji-json, from unicode.org), loaded on first
// use as its own chunk (~200 KB minified, not part of the app bundle), and the recently used emojis
// (localStorage, per browser).

export interface EmojiEntry {
  emoji: string;
  name: string;
  group: string;
}

interface GroupJson {
  name: string;
  emojis: Array<{ emoji: string; name: string }>;
}

let loading: Promise<EmojiEntry[]> | null = null;

/** Every emoji with its name and group, in Unicode's order. */
export function loadEmojis(): Promise<EmojiEntry[]> {
  loading ??= import('unicode-emoji-json/data-by-group.json').then((mod) => {
    const groups = (mod as { default: unknown }).default as GroupJson[];
    return groups.flatMap((g) => g.emojis.map((e) => ({ emoji: e.emoji, name: e.name, group: g.name })));
  }).catch((err: unknown) => {
    loading = null; // try again next time (a deploy replaced the chunk, a network blip)
    throw err;
  });
  return loading;
}

/** Emojis whose name has every word of the query as a word prefix ("thumbs u" finds 👍). */
export function searchEmojis(all: EmojiEntry[], query: string, limit = 200): EmojiEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return all.slice(0, limit);
  const out: EmojiEntry[] = [];
  for (const entry of all) {
    const nameWords = entry.name.toLowerCase().split(/[\s:_-]+/);
    if (words.every((w) => nameWords.some((n) => n.startsWith(w)))) out.push(entry);
    if (out.length >= limit) break;
  }
  return out;
}

const RECENT_KEY = 'parley:recent-emojis';
const RECENT_MAX = 16;
/** Shown before anything was used. */
export const DEFAULT_EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

export function recentEmojis(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(value) ? value.filter((e): e is string => typeof e === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

export function rememberEmoji(emoji: string): void {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify([emoji, ...recentEmojis().filter((e) => e !== emoji)].slice(0, RECENT_MAX)));
  } catch {
    // storage full or disabled: recents are a convenience
  }
}
