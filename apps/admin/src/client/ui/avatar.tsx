import { colourSlot, initials } from './format.ts';

/** Initials on a stable colour (decorative: the name is always next to it). */
export function Avatar({ user, size = 'md' }: { user: { id: number; displayName: string }; size?: 'sm' | 'md' }) {
  return <span class={`avatar avatar-${size} avatar-c${colourSlot(user.id)}`} aria-hidden="true">{initials(user.displayName)}</span>;
}
