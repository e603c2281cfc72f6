// Small inline SVG icons (no icon font, no emoji: they render the same everywhere). Decorative unless
// given a label.
const paths = {
  lock: 'M5 7V5a3 3 0 0 1 6 0v2h.5A1.5 1.5 0 0 1 13 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 3 13.5v-5A1.5 1.5 0 0 1 4.5 7H5zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z',
  info: 'M8 1a7 7 0 1 1 0 14A7 7 0 0 1 8 1zm0 1.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zM7.25 7h1.5v4.5h-1.5zM8 4.25a.9.9 0 1 1 0 1.8.9.9 0 0 1 0-1.8z',
  bellOff: 'M2.3 1.3 14.7 13.7l-1 1-2.2-2.2H2.5l1.5-2V7c0-.6.1-1.2.3-1.7L1.3 2.3zM8 1.5a4 4 0 0 1 4 4v3.7L5.2 2.4A4 4 0 0 1 8 1.5zM6.5 13.5h3a1.5 1.5 0 0 1-3 0z',
  hash: 'M6.2 1.5 5.8 5h3l.4-3.5h1.5L10.3 5H13v1.5h-2.9l-.4 3H13V11h-3.5l-.4 3.5H7.6L8 11H5l-.4 3.5H3.1L3.5 11H1V9.5h2.7l.4-3H1V5h3.3l.4-3.5zm-.6 5-.4 3h3l.4-3z',
} as const;

export function Icon({ name, label }: { name: keyof typeof paths; label?: string }) {
  return (
    <svg class="icon" viewBox="0 0 16 16" width="14" height="14" {...(label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true', focusable: 'false' })}>
      <path fill="currentColor" d={paths[name]} />
    </svg>
  );
}
