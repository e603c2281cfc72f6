// The durable control plane's one write path (see migrations/0002_control_events.sql and
// docs/architecture.md "Control plane"). Call it with the client of the transaction that makes the
// change, so the change and its event commit together or not at all.
import type { PoolClient } from 'pg';

/**
 * What a chat replica does with each kind (apps/chat applies them in id order):
 * - user_status      user_id, payload {status}: not 'active' → close the user's sockets (4001).
 * - user_role        user_id, payload {role}: close the user's sockets whose token has another role.
 * - session_revoked  user_id, session_id, payload {reason}: close that session's sockets (4001); its
 *                    outstanding chat tokens are refused at upgrade for as long as the event is kept.
 * - mute             user_id, room_id (null = every room), payload {until: ISO string | null}.
 * - member_added     user_id, room_id: tell the user's sockets (their sidebar gains the room).
 * - member_removed   user_id, room_id: the user's sockets leave the room, told `left` reason removed.
 * - room_archived    room_id, payload {archived}: the room's sockets are told.
 * - room_updated     room_id, payload {name?, topic?}: the room's sockets are told.
 * - message_updated  room_id, seq: an edit, delete, moderator delete or reaction (messages.version = event id).
 * - read             user_id, room_id, seq: the user's read pointer moved (all their sockets are told).
 * - conversation_hidden  user_id, room_id, payload {hidden}: the user closed a direct conversation in
 *                    their sidebar (true) or opened it again (false); all their sockets are told
 *                    `conversation` `updated` and re-read the list.
 */
export type ControlEventKind =
  | 'user_status'
  | 'user_role'
  | 'session_revoked'
  | 'mute'
  | 'member_added'
  | 'member_removed'
  | 'room_archived'
  | 'room_updated'
  | 'message_updated'
  | 'read'
  | 'conversation_hidden';

export interface NewControlEvent {
  kind: ControlEventKind;
  userId?: number | null;
  sessionId?: string | null;
  roomId?: number | null;
  seq?: number | null;
  payload?: Record<string, unknown>;
}

export interface ControlEvent {
  id: number;
  kind: ControlEventKind;
  userId: number | null;
  sessionId: string | null;
  roomId: number | null;
  seq: number | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Record an event inside the caller's transaction; returns its id (gap-free, in commit order). */
export async function recordControlEvent(client: Pick<PoolClient, 'query'>, event: NewControlEvent): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    'SELECT parley_control_event($1, $2, $3, $4, $5, $6) AS id',
    [event.kind, event.userId ?? null, event.sessionId ?? null, event.roomId ?? null, event.seq ?? null, JSON.stringify(event.payload ?? {})],
  );
  return Number(rows[0]!.id);
}

/** Events after `afterId`, in id order (at most `limit`). */
export async function controlEventsAfter(client: Pick<PoolClient, 'query'>, afterId: number, limit = 1000): Promise<ControlEvent[]> {
  const { rows } = await client.query<{ id: number; kind: ControlEventKind; user_id: number | null; session_id: string | null; room_id: number | null; seq: number | null; payload: Record<string, unknown>; created_at: Date }>(
    'SELECT id, kind, user_id, session_id, room_id, seq, payload, created_at FROM control_events WHERE id > $1 ORDER BY id LIMIT $2',
    [afterId, limit],
  );
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, userId: r.user_id, sessionId: r.session_id, roomId: r.room_id, seq: r.seq, payload: r.payload, createdAt: r.created_at }));
}

/** The id of the latest committed event (0 when none). */
export async function lastControlEventId(client: Pick<PoolClient, 'query'>): Promise<number> {
  const { rows } = await client.query<{ last_id: number }>('SELECT last_id FROM control_event_counter');
  return Number(rows[0]?.last_id ?? 0);
}
