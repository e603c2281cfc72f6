// Chat test fixtures that need no admin process: users and rooms written straight into a test database,
// and chat tokens signed with the stack's CHAT_TOKEN_SECRET (exactly what admin would mint).
import { randomBytes } from 'node:crypto';
import type { Pool } from '@parley/db';
import { signChatToken } from '@parley/chat-token';

export interface ChatTestUser {
  id: number;
  handle: string;
  displayName: string;
  role: 'user' | 'moderator' | 'admin';
}

let counter = 0;

export async function createChatUser(pool: Pool, label = 'user', role: ChatTestUser['role'] = 'user'): Promise<ChatTestUser> {
  const handle = `${label}_${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 32);
  const displayName = `${label} ${counter}`;
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ($1, $2, $3, 'not-a-hash', $4) RETURNING id`,
    [`${handle}@example.test`, handle, displayName, role],
  );
  return { id: Number(rows[0]!.id), handle, displayName, role };
}

export async function createChatRoom(pool: Pool, opts: { kind?: 'public' | 'private' | 'direct'; members?: ChatTestUser[]; name?: string } = {}): Promise<number> {
  const kind = opts.kind ?? 'public';
  const members = opts.members ?? [];
  const name = opts.name ?? `room-${randomBytes(5).toString('hex')}`;
  const directKey = kind === 'direct' ? members.map((m) => m.id).sort((a, b) => a - b).join(':') : null;
  const isGroup = kind === 'direct' && members.length > 2; // as admin marks group conversations (migration 0011)
  const { rows } = await pool.query<{ id: number }>('INSERT INTO rooms (name, kind, direct_key, is_group) VALUES ($1, $2, $3, $4) RETURNING id', [name, kind, directKey, isGroup]);
  const id = Number(rows[0]!.id);
  for (const m of members) await pool.query('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)', [id, m.id]);
  return id;
}

/** A chat token for `user`, as admin mints them (session id random unless given). */
export function chatTokenFor(user: ChatTestUser, secret: string, sessionId = randomBytes(8).toString('hex'), ttlSeconds = 300, sessionEndsAt?: number): string {
  const sexp = sessionEndsAt === undefined ? {} : { sexp: Math.floor(sessionEndsAt / 1000) };
  return signChatToken({ uid: user.id, sid: sessionId, handle: user.handle, name: user.displayName, role: user.role, ...sexp }, secret, ttlSeconds);
}

/** Every stored message of a room, in seq order. */
export async function roomMessages(pool: Pool, roomId: number): Promise<Array<{ seq: number; clientId: string; authorId: number; body: string }>> {
  const { rows } = await pool.query<{ seq: number; client_msg_id: string; author_id: number; body: string }>(
    'SELECT seq, client_msg_id, author_id, body FROM messages WHERE room_id = $1 ORDER BY seq',
    [roomId],
  );
  return rows.map((r) => ({ seq: Number(r.seq), clientId: r.client_msg_id, authorId: Number(r.author_id), body: r.body }));
}
