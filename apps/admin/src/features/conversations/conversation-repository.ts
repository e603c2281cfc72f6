// The sidebar's data: every conversation a user belongs to (joined public rooms, private rooms, direct
// messages) with its read state. Unread and mention counts come from room_members.last_read_seq (the
// read pointer chat moves on `read` frames), so they are the same after a reload and on another device.
import type { Pool } from '@parley/db';
import type { Conversation } from './conversation.ts';

export type { Conversation };

/** Unread counting looks at most this many messages back (older backlogs show as "999+" at worst). */
export const UNREAD_SCAN_LIMIT = 1_000;
/** At most this many unread mention seqs are listed per conversation. */
export const MENTION_LIST_LIMIT = 100;

interface ConversationRow {
  id: number;
  kind: Conversation['kind'];
  name: string;
  topic: string;
  archived_at: Date | null;
  last_seq: number;
  last_read_seq: number;
  notifications_muted: boolean;
  hidden_through_seq: number | null;
  last_activity_at: Date | null;
  unread: number;
  mention_seqs: number[] | null;
  peer_id: number | null;
  peer_handle: string | null;
  peer_display_name: string | null;
  peers: Array<{ id: number; handle: string; displayName: string }> | null;
  is_group: boolean;
}

/** A Postgres regex that matches `@name` (a handle, or `room`) as a whole word. */
export function mentionPattern(name: string): string {
  return `(^|[^A-Za-z0-9_])@(${name})([^A-Za-z0-9_]|$)`;
}

/**
 * Only moderators and admins can mention everyone: anyone else's "@room" is plain text. The role is
 * the author's when they wrote it (messages.author_role, set by the database at insert), not today's.
 */
export const ROOM_MENTION_ROLES = ['moderator', 'admin'];

export class ConversationRepository {
  constructor(private readonly pool: Pool) {}

  async list(user: { id: number; handle: string }, roomId?: number): Promise<Conversation[]> {
    const { rows } = await this.pool.query<ConversationRow>(
      `SELECT r.id, r.kind, r.name, r.topic, r.archived_at, r.is_group, r.last_seq, m.last_read_seq, m.notifications_muted, m.hidden_through_seq,
              (SELECT lm.created_at FROM messages lm WHERE lm.room_id = r.id AND lm.seq = r.last_seq) AS last_activity_at,
              u.count AS unread, u.mention_seqs,
              peer.id AS peer_id, peer.handle AS peer_handle, peer.display_name AS peer_display_name, grp.peers
       FROM room_members m
       JOIN rooms r ON r.id = m.room_id
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS count,
                (array_agg(x.seq ORDER BY x.seq) FILTER (WHERE x.body ~* $3 OR (x.body ~* $4 AND x.author_role = ANY($5::text[])) OR o.author_id = $1))[1:${MENTION_LIST_LIMIT}] AS mention_seqs
         FROM messages x
         -- A reply to one of your messages notifies you like a mention.
         LEFT JOIN messages o ON o.room_id = x.room_id AND o.seq = x.reply_to_seq
         WHERE x.room_id = r.id AND x.seq > greatest(m.last_read_seq, r.last_seq - ${UNREAD_SCAN_LIMIT})
           AND x.author_id <> $1 AND x.deleted_at IS NULL
       ) u
       LEFT JOIN LATERAL (
         SELECT pu.id, pu.handle, pu.display_name FROM room_members pm JOIN users pu ON pu.id = pm.user_id
         WHERE r.kind = 'direct' AND pm.room_id = r.id AND pm.user_id <> $1 ORDER BY pu.id LIMIT 1
       ) peer ON true
       LEFT JOIN LATERAL (
         SELECT json_agg(json_build_object('id', gu.id, 'handle', gu.handle, 'displayName', gu.display_name) ORDER BY gu.id) AS peers
         FROM room_members gm JOIN users gu ON gu.id = gm.user_id
         WHERE r.kind = 'direct' AND gm.room_id = r.id AND gm.user_id <> $1
       ) grp ON true
       WHERE m.user_id = $1 AND ($2::bigint IS NULL OR r.id = $2)
       ORDER BY r.id`,
      [user.id, roomId ?? null, mentionPattern(user.handle), mentionPattern('room'), ROOM_MENTION_ROLES],
    );
    return rows.map((r) => ({
      id: Number(r.id), kind: r.kind, name: r.name, topic: r.topic, archived: r.archived_at !== null,
      lastSeq: Number(r.last_seq), lastReadSeq: Number(r.last_read_seq), unread: r.unread,
      mentionSeqs: (r.mention_seqs ?? []).map(Number), lastActivityAt: r.last_activity_at?.toISOString() ?? null,
      notificationsMuted: r.notifications_muted,
      hiddenThroughSeq: r.hidden_through_seq === null ? null : Number(r.hidden_through_seq),
      peer: r.peer_id === null ? null : { id: Number(r.peer_id), handle: r.peer_handle!, displayName: r.peer_display_name! },
      peers: (r.peers ?? []).map((p) => ({ id: Number(p.id), handle: p.handle, displayName: p.displayName })),
      group: r.is_group,
    }));
  }

  async setNotificationsMuted(roomId: number, userId: number, muted: boolean): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE room_members SET notifications_muted = $3 WHERE room_id = $1 AND user_id = $2',
      [roomId, userId, muted],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Who can mention everyone with @room (the client highlights and notifies by the same rule). */
  async roomMentioners(): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>('SELECT id FROM users WHERE role = ANY($1::text[]) ORDER BY id', [ROOM_MENTION_ROLES]);
    return rows.map((r) => Number(r.id));
  }

  /** People the user can mention in a room: its members (public rooms: members too, i.e. people who joined). */
  async mentionable(roomId: number, userId: number): Promise<Array<{ id: number; handle: string; displayName: string }>> {
    const { rows } = await this.pool.query<{ id: number; handle: string; display_name: string }>(
      `SELECT u.id, u.handle, u.display_name FROM room_members m JOIN users u ON u.id = m.user_id
       WHERE m.room_id = $1 AND u.status = 'active'
         AND EXISTS (SELECT 1 FROM room_members me WHERE me.room_id = $1 AND me.user_id = $2)
       ORDER BY lower(u.handle) LIMIT 1000`,
      [roomId, userId],
    );
    return rows.map((r) => ({ id: Number(r.id), handle: r.handle, displayName: r.display_name }));
  }
}
