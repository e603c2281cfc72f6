// Shared bits of the admin panel's routes: role declarations, input parsing, page and redirect helpers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Role } from '../users/user-repository.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route; routes under /admin without it are admin-only. */
    roles?: Role[];
  }
}

export const STAFF = { config: { roles: ['moderator', 'admin'] as Role[] } };
export const ADMIN = { config: { roles: ['admin'] as Role[] } };

export const PAGE_SIZE = 25;
export const id = z.coerce.number().int().positive();
export const idParam = z.object({ id });
export const handleInput = z.string().trim().toLowerCase().transform((v) => v.replace(/^@/, '')).pipe(z.string().regex(/^[a-z0-9_]{3,32}$/, 'Enter a handle like @ann.'));
export const pageNum = (v: unknown) => Math.max(1, Math.min(10_000, Number.parseInt(typeof v === 'string' ? v : '1', 10) || 1));
export const str = (v: unknown, max = 200) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
export const bodyOf = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;

const FLASH: Record<string, string> = {
  role: 'Role changed.',
  banned: 'User banned: signed out everywhere and disconnected from chat.',
  deactivated: 'User deactivated: signed out everywhere and disconnected from chat.',
  active: 'User reactivated.',
  signedout: 'User signed out everywhere.',
  created: 'Room created.',
  renamed: 'Room updated.',
  archived: 'Room archived: it is read-only now.',
  unarchived: 'Room unarchived.',
  added: 'Member added.',
  removed: 'Member removed.',
  deleted: 'Message deleted for everyone.',
  muted: 'User muted.',
  unmuted: 'User unmuted.',
};

export const flashOf = (req: FastifyRequest) => FLASH[str((req.query as Record<string, unknown>).done)] ?? null;

export const page = (reply: FastifyReply, body: string, status = 200) =>
  reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

const USERS_LIST = '/admin/users';
const USERS_LIST_PARAMS = ['q', 'role', 'status', 'page'] as const;

/**
 * Where a form on the user list returns to: its `back` field, accepted only as a relative
 * /admin/users?… URL and rebuilt from the list's own parameters (anything else, another path, another
 * host, `//evil.example`, yields the plain list), so it can never redirect off the panel.
 */
export function usersListReturn(v: unknown): string {
  const raw = str(v, 500);
  if (raw !== USERS_LIST && !raw.startsWith(`${USERS_LIST}?`)) return USERS_LIST;
  const base = 'http://panel.invalid';
  const url = new URL(raw, base);
  if (url.origin !== base || url.pathname !== USERS_LIST) return USERS_LIST;
  const kept = new URLSearchParams();
  for (const key of USERS_LIST_PARAMS) {
    const value = str(url.searchParams.get(key), 100);
    if (value) kept.set(key, value);
  }
  return kept.size ? `${USERS_LIST}?${kept.toString()}` : USERS_LIST;
}

/** Post/redirect/get back to a page with a flash message. */
export const back = (reply: FastifyReply, url: string, done: string) => reply.redirect(`${url}${url.includes('?') ? '&' : '?'}done=${done}`, 303);
