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
  /** When the session ends unless used again: the idle timeout, never past endsAt. */
  expiresAt: number;
  /** The absolute end (SESSION_ABSOLUTE_HOURS after login), however active the session is. */
  endsAt: number;
}

/**
 * How long a session lives. The stores own both limits, so a session past its absolute end is simply
 * not found (the store expires it then), and the cookie and the chat token take their ends from the record.
 */
export interface SessionLifetime {
  /** Sliding: a session unused this long ends (SESSION_TTL_HOURS). */
  idleMs: number;
  /** Fixed from login (SESSION_ABSOLUTE_HOURS). */
  absoluteMs: number;
}

export function sessionLifetimeOf(config: { SESSION_TTL_HOURS: number; SESSION_ABSOLUTE_HOURS: number }): SessionLifetime {
  return { idleMs: config.SESSION_TTL_HOURS * 3600_000, absoluteMs: config.SESSION_ABSOLUTE_HOURS * 3600_000 };
}

/** The next expiry when the session is used at `now`: the idle timeout, capped by the absolute end. */
export function nextExpiry(now: number, endsAt: number, lifetime: SessionLifetime): number {
  return Math.min(now + lifetime.idleMs, endsAt);
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

/**
 * The session store cannot be reached (Redis down or restarting, or Postgres in embedded mode). Nobody's
 * session can be checked, so every request that needs one answers 503 "try again in a moment" (see
 * plugins/errors.ts) instead of treating the visitor as logged out or failing with a 500.
 */
export class SessionStoreUnavailableError extends Error {
  readonly statusCode = 503;
  readonly code = 'PARLEY_SESSION_STORE_UNAVAILABLE';

  constructor(readonly reason: unknown) {
    super(`session store unavailable: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

export function newCookieValue(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionIdOf(cookieValue: string): string {
  return createHash('sha256').update(cookieValue).digest('hex');
}

export function isPlausibleCookie(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
