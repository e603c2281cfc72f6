import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { AuditRepository } from './audit-repository.ts';
import { messagesPerMinute } from '../dashboard/stats.ts';

let db: TestDatabase;
let audit: AuditRepository;
let adminId = 0;

beforeAll(async () => {
  db = await createTestDatabase('admin_audit');
  audit = new AuditRepository(db.pool);
  const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ('r@x.test', 'root', 'Root', 'x', 'admin') RETURNING id`);
  adminId = rows[0]!.id;
});
afterAll(async () => db?.drop());

describe('AuditRepository', () => {
  it('records actions and filters them by actor, action prefix, target and time', async () => {
    await audit.record({ actorId: adminId, action: 'user.banned', targetType: 'user', targetId: 5, details: { handle: 'eve' }, ip: '203.0.113.1', requestId: 'r1' });
    await audit.record({ actorId: adminId, action: 'user.role_changed', targetType: 'user', targetId: 6, details: {}, ip: '203.0.113.1' });
    await audit.record({ actorId: null, action: 'room.archived', targetType: 'room', targetId: '9' });
    await db.pool.query(`UPDATE audit_log SET created_at = now() - interval '2 days' WHERE action = 'room.archived'`);
    expect((await audit.list({}, 10, 0)).total).toBe(3);
    const banned = await audit.list({ action: 'user.banned' }, 10, 0);
    expect(banned.entries).toHaveLength(1);
    expect(banned.entries[0]).toMatchObject({ actor: { handle: 'root' }, targetType: 'user', targetId: '5', details: { handle: 'eve' }, ip: '203.0.113.1', requestId: 'r1' });
    expect((await audit.list({ action: 'user.' }, 10, 0)).total).toBe(2);
    expect((await audit.list({ actor: '@ROOT' }, 10, 0)).total).toBe(2);
    expect((await audit.list({ targetType: 'room', targetId: '9' }, 10, 0)).entries[0]?.actor).toBeNull();
    expect((await audit.list({ since: new Date(Date.now() - 3600_000) }, 10, 0)).total).toBe(2);
    expect((await audit.list({}, 1, 1)).entries).toHaveLength(1);
    expect(await audit.actions()).toEqual(['room.archived', 'user.banned', 'user.role_changed']);
  });

  it('counts messages per minute over the last hour, oldest first', async () => {
    const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO rooms (name) VALUES ('r') RETURNING id`);
    const room = rows[0]!.id;
    const at = (minutesAgo: number, seq: number) =>
      db.pool.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at) VALUES ($1, $2, $3, $4, 'x', now() - $5 * interval '1 minute' - interval '1 second')`, [room, seq, adminId, `c${seq}`, minutesAgo]);
    await at(0, 1);
    await at(0, 2);
    await at(5, 3);
    await at(59, 4);
    await at(90, 5); // outside the hour
    const counts = await messagesPerMinute({ pool: db.pool });
    expect(counts).toHaveLength(60);
    expect(counts[59]).toBe(2);
    expect(counts[54]).toBe(1);
    expect(counts[0]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
  });
});
