// Ending sessions durably. The session_revoked events (every chat replica closes that session's sockets
// and refuses its outstanding chat tokens; the event's session_id is the `sid` of those tokens, i.e.
// SessionRecord.id) commit in the transaction of the change and its audit entry. Only then does the
// session store (Redis, or Postgres in embedded mode: outside that transaction) forget the sessions. If
// the store fails after the commit, chat has already been told; the caller gets the error and may
// retry (ending a session twice is harmless).
import { recordControlEvent, withTransaction, type Pool } from '@parley/db';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { Queryable } from '../audit/audit-repository.ts';

export type RevokeReason = 'logout' | 'revoked' | 'password_changed' | 'signed_out_by_admin' | 'role_changed' | 'banned' | 'deactivated';

/** Chat closes the session's sockets with this text as the close reason. */
const REASON_TEXT: Record<RevokeReason, string> = {
  logout: 'logged out',
  revoked: 'signed out from another device',
  password_changed: 'password changed',
  signed_out_by_admin: 'An administrator signed you out.',
  role_changed: 'Your role changed. Log in again.',
  banned: 'Your account was banned.',
  deactivated: 'Your account was deactivated.',
};

export class SessionRevoker {
  constructor(private readonly pool: Pool, private readonly sessions: SessionStore) {}

  /** Ids of the user's current sessions (read before the transaction that revokes them). */
  async idsOf(userId: number): Promise<string[]> {
    return (await this.sessions.listForUser(userId)).map((s) => s.id);
  }

  /** One session_revoked event per session, with the caller's transaction client. */
  async record(db: Queryable, userId: number, sessionIds: readonly string[], reason: RevokeReason): Promise<void> {
    for (const sessionId of sessionIds) await recordControlEvent(db, { kind: 'session_revoked', userId, sessionId, payload: { reason: REASON_TEXT[reason] } });
  }

  /** After the commit: the store forgets these sessions. */
  async forget(sessionIds: readonly string[]): Promise<void> {
    await Promise.all(sessionIds.map((id) => this.sessions.destroy(id)));
  }

  /**
   * After the commit: the store forgets every session of the user. A session that began between
   * `idsOf` and now had no event yet: it gets one in a transaction of its own.
   */
  async forgetAllOf(userId: number, recorded: readonly string[], reason: RevokeReason): Promise<string[]> {
    const ended = await this.sessions.destroyAllForUser(userId);
    const late = ended.filter((id) => !recorded.includes(id));
    if (late.length) await withTransaction(this.pool, (tx) => this.record(tx, userId, late, reason));
    return [...new Set([...recorded, ...ended])];
  }
}
