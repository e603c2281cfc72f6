// A person's own account: logging out, ending one or all other sessions, changing the password (which
// ends the other sessions). Each commits its change (the password), audit entry and session_revoked
// events in one transaction; the session store forgets the sessions afterwards (see SessionRevoker).
import { withTransaction, type Pool } from '@parley/db';
import type { Actor, AuditRepository } from '../audit/audit-repository.ts';
import { hashPassword, type UserRepository } from '../users/user-repository.ts';
import { Refusal } from '../refusal.ts';
import type { RevokeReason, SessionRevoker } from './session-revoker.ts';

export interface AccountServiceDeps {
  pool: Pool;
  users: UserRepository;
  audit: AuditRepository;
  revoker: SessionRevoker;
}

export class AccountService {
  constructor(private readonly d: AccountServiceDeps) {}

  private async end(actor: Actor, userId: number, sessionIds: string[], action: string, reason: RevokeReason): Promise<void> {
    await withTransaction(this.d.pool, async (tx) => {
      await this.d.audit.write(tx, actor, action, 'user', userId, { sessionsEnded: sessionIds.length });
      await this.d.revoker.record(tx, userId, sessionIds, reason);
    });
    await this.d.revoker.forget(sessionIds);
  }

  /**
   * Like every revocation, recorded first: if Postgres cannot take it, the person stays logged in and
   * sees the error (and may retry) rather than leaving chat sockets of an ended session open.
   */
  async logout(actor: Actor, session: { id: string; userId: number }): Promise<void> {
    await this.end(actor, session.userId, [session.id], 'user.logged_out', 'logout');
  }

  /** Ends one of the person's own sessions; an id that is not theirs (or gone) is "not found". */
  async revokeSession(actor: Actor, userId: number, sessionId: string): Promise<void> {
    if (!(await this.d.revoker.idsOf(userId)).includes(sessionId)) throw new Refusal(404, 'That session has already ended.');
    await this.end(actor, userId, [sessionId], 'user.session_revoked', 'revoked');
  }

  async revokeOtherSessions(actor: Actor, userId: number, currentSessionId: string): Promise<number> {
    const others = (await this.d.revoker.idsOf(userId)).filter((id) => id !== currentSessionId);
    await this.end(actor, userId, others, 'user.sessions_revoked', 'revoked');
    return others.length;
  }

  /**
   * Changes the password if `current` is right (false otherwise) and ends every other session. Hashing
   * happens before the transaction (it is slow; the control event counter is locked until COMMIT).
   */
  async changePassword(actor: Actor, userId: number, currentSessionId: string, current: string, next: string): Promise<{ changed: boolean; sessionsEnded: number }> {
    const oldHash = await this.d.users.checkPassword(userId, current);
    if (!oldHash) return { changed: false, sessionsEnded: 0 };
    const newHash = await hashPassword(next);
    const others = (await this.d.revoker.idsOf(userId)).filter((id) => id !== currentSessionId);
    const changed = await withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.users.replacePasswordHash(tx, userId, oldHash, newHash))) return false;
      await this.d.audit.write(tx, actor, 'user.password_changed', 'user', userId, { sessionsEnded: others.length });
      await this.d.revoker.record(tx, userId, others, 'password_changed');
      return true;
    });
    if (!changed) return { changed: false, sessionsEnded: 0 };
    await this.d.revoker.forget(others);
    return { changed: true, sessionsEnded: others.length };
  }
}
