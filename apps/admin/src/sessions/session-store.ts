// Sessions: an opaque random id in an HttpOnly cookie; stores keep only its sha256, so a dump of
// Redis or Postgres holds nothing a thief could replay. The hash doubles as the session's public id
// (shown on the profile page, put in chat tokens, used to revoke).
import { createHash, randomBytes } from 'node:crypto';

export interface SessionMeta {
  ip: string;
  userAgent: string;
}

export interface SessionRecord extends SessionMeta {
  id: string;
  userId: number;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface SessionStore {
  readonly kind: 'redis' | 'postgres';
  create(userId: number, meta: SessionMeta): Promise<{ cookieValue: string; record: SessionRecord }>;
  /** Look up by cookie value; refreshes last-seen (at most once a minute) and the sliding expiry. */
  get(cookieValue: string, meta?: SessionMeta): Promise<SessionRecord | null>;
  destroy(sessionId: string): Promise<void>;
  listForUser(userId: number): Promise<SessionRecord[]>;
  /** Destroys every session of the user; returns their ids. */
  destroyAllForUser(userId: number): Promise<string[]>;
  ping(): Promise<boolean>;
}

export const TOUCH_INTERVAL_MS = 60_000;

export function newCookieValue(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionIdOf(cookieValue: string): string {
  return createHash('sha256').update(cookieValue).digest('hex');
}

export function isPlausibleCookie(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
