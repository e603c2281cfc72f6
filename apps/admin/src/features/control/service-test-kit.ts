// Shared fixtures for the service integration specs (real Postgres, test database per spec file): the
// services wired as app.ts wires them, people with sessions, a forced failure inside a transaction,
// and a snapshot of every table a state change may touch.
import { controlEventsAfter, lastControlEventId, type ControlEvent, type Pool } from '@parley/db';
import type { TestDatabase } from '@parley/devtools';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { AuditRepository, type Actor } from '../audit/audit-repository.ts';
import { SessionRevoker } from '../account/session-revoker.ts';
import { AccountService } from '../account/service.ts';
import { UserService } from '../users/service.ts';
import { RoomService } from '../rooms/service.ts';
import { ModerationService } from '../moderation/service.ts';
import { RoomRepository } from '../rooms/room-repository.ts';
import { AttachmentRepository } from '../attachments/attachment-repository.ts';
import { type Role, type User, UserRepository } from '../users/user-repository.ts';

export function servicesFor(pool: Pool, sessions: SessionStore = new PgSessionStore(pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 })) {
  const users = new UserRepository(pool);
  const rooms = new RoomRepository(pool);
  const audit = new AuditRepository(pool);
  const revoker = new SessionRevoker(pool, sessions);
  const attachments = new AttachmentRepository(pool);
  return {
    pool, sessions, users, rooms, audit, attachments,
    account: new AccountService({ pool, users, audit, revoker }),
    userAdmin: new UserService({ pool, users, audit, revoker }),
    roomService: new RoomService({ pool, rooms, audit }),
    moderation: new ModerationService({ pool, rooms, audit, attachments }),
  };
}
export type TestServices = ReturnType<typeof servicesFor>;

let serial = 0;
/** A person (password hash 'x' unless `password` is given: argon2 is slow). */
export async function person(s: TestServices, role: Role = 'user', password?: string): Promise<User> {
  const handle = `p${++serial}_${Math.random().toString(36).slice(2, 8)}`;
  if (password) return s.users.create({ email: `${handle}@example.test`, handle, displayName: handle.toUpperCase(), password, role });
  const { rows } = await s.pool.query<{ id: number }>(
    `INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ($1, $2, $3, 'x', $4) RETURNING id`,
    [`${handle}@example.test`, handle, handle.toUpperCase(), role],
  );
  return (await s.users.findById(rows[0]!.id))!;
}

export const actor = (user: { id: number } | null): Actor => ({ id: user?.id ?? null, ip: '203.0.113.7', requestId: `req-${++serial}` });

/** One message stored the way chat stores it; returns its seq. */
export async function say(pool: Pool, roomId: number, authorId: number, body: string): Promise<number> {
  const { rows } = await pool.query<{ last_seq: number }>('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [roomId]);
  const seq = Number(rows[0]!.last_seq);
  await pool.query('INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)', [roomId, seq, authorId, `c-${roomId}-${seq}`, body]);
  return seq;
}

/** Makes every INSERT into `table` fail until the returned function is called. */
export async function failInsertsInto(pool: Pool, table: 'audit_log' | 'control_events'): Promise<() => Promise<void>> {
  await pool.query(`CREATE OR REPLACE FUNCTION parley_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'forced failure in %', TG_TABLE_NAME; END $$`);
  await pool.query(`CREATE TRIGGER parley_test_fail BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION parley_test_fail()`);
  return async () => {
    await pool.query(`DROP TRIGGER parley_test_fail ON ${table}`);
  };
}

const SNAPSHOT: Record<string, string> = {
  users: 'SELECT id, role, status, password_hash, handle FROM users ORDER BY id',
  rooms: 'SELECT id, name, topic, kind, archived_at, direct_key, is_group FROM rooms ORDER BY id',
  room_members: 'SELECT room_id, user_id, muted_until, hidden_through_seq FROM room_members ORDER BY room_id, user_id',
  room_mutes: 'SELECT room_id, user_id, muted_until FROM room_mutes ORDER BY room_id, user_id',
  messages: 'SELECT room_id, seq, deleted_at, deleted_by, version FROM messages ORDER BY room_id, seq',
  sessions: 'SELECT id, user_id FROM sessions ORDER BY id',
  audit_log: 'SELECT id, action FROM audit_log ORDER BY id',
  control_events: 'SELECT id, kind FROM control_events ORDER BY id',
  control_event_counter: 'SELECT last_id FROM control_event_counter',
};

/** Every row a state change may touch, to compare before and after a failed attempt. */
export async function snapshot(pool: Pool): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(SNAPSHOT)) out[table] = (await pool.query(sql)).rows;
  return out;
}

export async function eventsSince(pool: Pool, afterId: number): Promise<ControlEvent[]> {
  return controlEventsAfter(pool, afterId);
}

export { lastControlEventId };

export type { TestDatabase };
