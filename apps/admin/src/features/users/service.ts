// Admin actions on accounts: role, status (ban, deactivate, reactivate) and "sign out everywhere".
// Each change, its audit entry and its control events commit in one transaction; sessions are then
// forgotten by the store (see SessionRevoker).
import { recordControlEvent, withTransaction, type Pool } from '@parley/db';
import type { Actor, AuditRepository } from '../audit/audit-repository.ts';
import type { SessionRevoker } from '../account/session-revoker.ts';
import { Refusal } from '../refusal.ts';
import type { Role, User, UserRepository, UserStatus } from './user-repository.ts';

const RANK: Record<Role, number> = { user: 0, moderator: 1, admin: 2 };

export interface UserServiceDeps {
  pool: Pool;
  users: UserRepository;
  audit: AuditRepository;
  revoker: SessionRevoker;
}

export class UserService {
  constructor(private readonly d: UserServiceDeps) {}

  private async target(actor: Actor, userId: number, what: string): Promise<User> {
    if (userId === actor.id) throw new Refusal(400, `You cannot change your own ${what}: ask another admin.`);
    const user = await this.d.users.findById(userId);
    if (!user) throw new Refusal(404, 'No such user.');
    return user;
  }

  /**
   * Chat trusts the role in its tokens: every replica closes sockets whose token carries another role
   * (user_role). A demotion also ends every session, so no page keeps the old powers either.
   */
  async changeRole(actor: Actor, userId: number, role: Role): Promise<{ sessionsEnded: number }> {
    const before = await this.target(actor, userId, 'role');
    const demoted = RANK[role] < RANK[before.role];
    const sessionIds = demoted ? await this.d.revoker.idsOf(before.id) : [];
    await withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.users.setRole(before.id, role, tx))) throw new Refusal(404, 'No such user.');
      await this.d.audit.write(tx, actor, 'user.role_changed', 'user', before.id, { handle: before.handle, from: before.role, to: role, sessionsEnded: sessionIds.length });
      await recordControlEvent(tx, { kind: 'user_role', userId: before.id, payload: { role } });
      await this.d.revoker.record(tx, before.id, sessionIds, 'role_changed');
    });
    const ended = demoted ? await this.d.revoker.forgetAllOf(before.id, sessionIds, 'role_changed') : [];
    return { sessionsEnded: ended.length };
  }

  /** Ban or deactivate (signed out everywhere, chat closes every socket and refuses upgrades), or reactivate. */
  async setStatus(actor: Actor, userId: number, status: UserStatus): Promise<{ sessionsEnded: number }> {
    const before = await this.target(actor, userId, 'status');
    const leaving = status !== 'active';
    const sessionIds = leaving ? await this.d.revoker.idsOf(before.id) : [];
    const action = status === 'banned' ? 'user.banned' : status === 'deactivated' ? 'user.deactivated' : 'user.reactivated';
    await withTransaction(this.d.pool, async (tx) => {
      if (!(await this.d.users.setStatus(before.id, status, tx))) throw new Refusal(404, 'No such user.');
      await this.d.audit.write(tx, actor, action, 'user', before.id, { handle: before.handle, from: before.status, to: status, sessionsEnded: sessionIds.length });
      await recordControlEvent(tx, { kind: 'user_status', userId: before.id, payload: { status } });
      // Also per session: a token minted before the ban stays refused if the account is reactivated soon.
      if (leaving) await this.d.revoker.record(tx, before.id, sessionIds, status === 'banned' ? 'banned' : 'deactivated');
    });
    const ended = leaving ? await this.d.revoker.forgetAllOf(before.id, sessionIds, status === 'banned' ? 'banned' : 'deactivated') : [];
    return { sessionsEnded: ended.length };
  }

  /** Ends every session of the user (not a user-wide block: their next login works at once). */
  async signOutEverywhere(actor: Actor, userId: number): Promise<{ sessionsEnded: number }> {
    const target = await this.d.users.findById(userId);
    if (!target) throw new Refusal(404, 'No such user.');
    const sessionIds = await this.d.revoker.idsOf(target.id);
    await withTransaction(this.d.pool, async (tx) => {
      await this.d.audit.write(tx, actor, 'user.sessions_revoked', 'user', target.id, { handle: target.handle, sessionsEnded: sessionIds.length });
      await this.d.revoker.record(tx, target.id, sessionIds, 'signed_out_by_admin');
    });
    const ended = await this.d.revoker.forgetAllOf(target.id, sessionIds, 'signed_out_by_admin');
    return { sessionsEnded: ended.length };
  }
}
