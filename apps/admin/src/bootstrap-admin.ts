import type { Logger } from '@parley/logging';
import { DuplicateUserError, type UserRepository } from './features/users/user-repository.ts';
import type { Pool } from '@parley/db';
import { RoomRepository } from './features/rooms/room-repository.ts';
import { RoomService } from './features/rooms/service.ts';
import { AuditRepository } from './features/audit/audit-repository.ts';

/** Create the first admin from PARLEY_ADMIN_EMAIL / PARLEY_ADMIN_PASSWORD if no such user exists yet. */
export async function ensureFirstAdmin(pool: Pool, users: UserRepository, email: string | undefined, password: string | undefined, log: Logger): Promise<void> {
  if (!email || !password) return;
  if (await users.findByEmail(email)) return;
  const base = email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 24).padEnd(3, '_');
  try {
    const user = await users.create({ email, handle: base, displayName: 'Administrator', password, role: 'admin' });
    await pool.query(`INSERT INTO audit_log (actor_id, action, target_type, target_id, details) VALUES (NULL, 'user.bootstrap_admin', 'user', $1, '{}')`, [String(user.id)]);
    // Like everyone who signs up, the first admin is in #general from the start.
    await new RoomService({ pool, rooms: new RoomRepository(pool), audit: new AuditRepository(pool) }).joinAutoJoinRooms(user.id);
    log.info({ userId: user.id }, 'first admin account created');
  } catch (err) {
    // Another admin replica created it at the same moment.
    if (!(err instanceof DuplicateUserError)) throw err;
  }
}
