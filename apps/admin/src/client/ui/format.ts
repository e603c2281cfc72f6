// Formatting helpers shared by the chat components.
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayWithYear = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
const short = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export const formatTime = (d: Date) => time.format(d);
export const formatFull = (d: Date) => full.format(d);

export function dayKey(d: Date): string {
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday", or the date (with the year when it is not this year). */
export function formatDay(d: Date, now = new Date()): string {
  if (dayKey(d) === dayKey(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  return d.getFullYear() === now.getFullYear() ? day.format(d) : dayWithYear.format(d);
}

/** Sidebar: time today, else a short date. */
export function formatActivity(iso: string | null, now = new Date()): string {
  if (!iso) return '';
  const d = new Date(iso);
  return dayKey(d) === dayKey(now) ? time.format(d) : short.format(d);
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[words.length - 1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A stable colour slot (0-7) per person: the CSS has a class per slot (no inline styles under the CSP). */
export function colourSlot(id: number): number {
  let h = id * 2654435761;
  h ^= h >>> 16;
  return Math.abs(h) % 8;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function countBadge(n: number): string {
  return n > 999 ? '999+' : String(n);
}
