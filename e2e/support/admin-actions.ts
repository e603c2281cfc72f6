// What admin does to open chat connections, done straight in Postgres as admin's service layer does
// it: the change and its control event in ONE transaction (no HTTP call to chat, no pub/sub).
import { type Pool, recordControlEvent, withTransaction } from '@parley/db';

export function banUser(pool: Pool, userId: number, status: 'banned' | 'deactivated' = 'banned'): Promise<number> {
  return withTransaction(pool, async (c) => {
    await c.query('UPDATE users SET status = $2 WHERE id = $1', [userId, status]);
    return recordControlEvent(c, { kind: 'user_status', userId, payload: { status } });
  });
}

export function revokeSession(pool: Pool, userId: number, sessionId: string, reason = 'logged out'): Promise<number> {
  return withTransaction(pool, (c) => recordControlEvent(c, { kind: 'session_revoked', userId, sessionId, payload: { reason } }));
}

export function changeRole(pool: Pool, userId: number, role: 'user' | 'moderator' | 'admin'): Promise<number> {
  return withTransaction(pool, async (c) => {
    await c.query('UPDATE users SET role = $2 WHERE id = $1', [userId, role]);
    return recordControlEvent(c, { kind: 'user_role', userId, payload: { role } });
  });
}

/**
 * Mute (until a time) or unmute (null) someone in a room, as admin's moderation service does: the mute
 * lives in room_mutes (never membership; room_members.muted_until is only a mirror for members).
 */
export function muteMember(pool: Pool, roomId: number, userId: number, until: Date | null): Promise<number> {
  return withTransaction(pool, async (c) => {
    if (until) await c.query('INSERT INTO room_mutes (room_id, user_id, muted_until) VALUES ($1, $2, $3) ON CONFLICT (room_id, user_id) DO UPDATE SET muted_until = EXCLUDED.muted_until', [roomId, userId, until]);
    else await c.query('DELETE FROM room_mutes WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    await c.query('UPDATE room_members SET muted_until = $3 WHERE room_id = $1 AND user_id = $2', [roomId, userId, until]);
    return recordControlEvent(c, { kind: 'mute', userId, roomId, payload: { until: until?.toISOString() ?? null } });
  });
}

export function moderatorDelete(pool: Pool, roomId: number, seq: number, moderatorId: number): Promise<number> {
  return withTransaction(pool, async (c) => {
    await c.query('UPDATE messages SET deleted_at = now(), deleted_by = $3 WHERE room_id = $1 AND seq = $2', [roomId, seq, moderatorId]);
    const version = await recordControlEvent(c, { kind: 'message_updated', userId: moderatorId, roomId, seq });
    await c.query('UPDATE messages SET version = $3 WHERE room_id = $1 AND seq = $2', [roomId, seq, version]);
    return version;
  });
}

export function removeMember(pool: Pool, roomId: number, userId: number): Promise<number> {
  return withTransaction(pool, async (c) => {
    await c.query('DELETE FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    return recordControlEvent(c, { kind: 'member_removed', userId, roomId });
  });
}

export function addMember(pool: Pool, roomId: number, userId: number): Promise<number> {
  return withTransaction(pool, async (c) => {
    await c.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [roomId, userId]);
    return recordControlEvent(c, { kind: 'member_added', userId, roomId });
  });
}

