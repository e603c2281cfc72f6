// The persist scenario's message history: a chat database is not empty. Without it, the writer's batch
// statement is planned once per connection (a named statement: Postgres keeps the generic plan after
// five executions) while `messages` holds a few hundred rows, with sequential scans of `messages` in it,
// and keeps that plan while the table grows by ~100,000 rows during the scenario, so every batch reads
// the whole table (bench/README.md, "Plans made on an empty table"). `history` messages in a room of
// their own (not counted as stored by the senders), then ANALYZE, as a database in use would have.
import type { Pool } from '@parley/db';

export async function seedPersistHistory(pool: Pool, firstUser: number, users: number, history: number): Promise<void> {
  if (history <= 0) return;
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO rooms (name, kind, last_seq) VALUES ('persist history', 'public', $1) RETURNING id`, [history]);
  const room = Number(rows[0]!.id);
  await pool.query(
    `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, author_role, created_at)
     SELECT $1, g, $2 + (g % $3), 'history-' || g, 'an earlier message number ' || g || ' about w' || (g * 7919 % 5000) || ' and w' || (g % 977), 'user',
            now() - make_interval(secs => ($4 - g)::float8)
     FROM generate_series(1, $4::int) g`,
    [room, firstUser, users, history],
  );
  await pool.query('ANALYZE messages');
}
