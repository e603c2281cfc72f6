// The chaos run's verdict on messages: every client's view compared with what Postgres holds.
// - lost: a message acknowledged to its sender but not stored, a message still unacknowledged when the
//   run ended, or a stored message of a client's room that the client never received;
// - duplicated: one sent message stored more than once, or received twice;
// - reordered: a client received seqs out of order, or the server's stream broke order after `joined`;
// - mismatched: a client received a body other than the one stored at that seq.
import type { Pool } from '@parley/db';
import type { FleetClient } from './clients.ts';

export interface MessageVerdict {
  sent: number;
  acked: number;
  stored: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  reordered: number;
  mismatched: number;
  /** Error frames the clients got, by code (e.g. unavailable while Postgres was down: then resent). */
  errors: Record<string, number>;
  /** Reconnects over all clients. */
  reconnects: number;
  examples: string[];
}

export async function verifyMessages(pool: Pool, clients: FleetClient[]): Promise<MessageVerdict> {
  const rooms = [...new Set(clients.map((c) => c.opts.roomId))];
  const { rows } = await pool.query<{ room_id: number; seq: number; body: string; client_msg_id: string }>(
    'SELECT room_id, seq, body, client_msg_id FROM messages WHERE room_id = ANY($1::bigint[]) ORDER BY room_id, seq',
    [rooms],
  );
  const byRoom = new Map<number, Array<{ seq: number; body: string }>>();
  const storedCount = new Map<string, number>();
  for (const r of rows) {
    const list = byRoom.get(Number(r.room_id)) ?? [];
    byRoom.set(Number(r.room_id), list);
    list.push({ seq: Number(r.seq), body: r.body });
    storedCount.set(r.body, (storedCount.get(r.body) ?? 0) + 1);
  }
  const v: MessageVerdict = { sent: 0, acked: 0, stored: rows.length, deliveries: 0, lost: 0, duplicated: 0, reordered: 0, mismatched: 0, errors: {}, reconnects: 0, examples: [] };
  const example = (line: string) => {
    if (v.examples.length < 12) v.examples.push(line);
  };
  for (const c of clients) {
    const name = `client ${c.opts.index} (room ${c.opts.roomId})`;
    v.sent += c.sentBodies.length;
    v.acked += c.acked.size;
    v.reconnects += Math.max(0, c.reconnects - 1);
    for (const [code, n] of c.errors) v.errors[code] = (v.errors[code] ?? 0) + n;
    const acked = c.ackedBodies();
    for (const body of c.sentBodies) {
      const n = storedCount.get(body) ?? 0;
      if (n === 0) {
        v.lost++;
        example(`${name}: "${body}" is not stored (${acked.has(body) ? 'it was acknowledged' : 'never acknowledged'})`);
      } else if (n > 1) {
        v.duplicated += n - 1;
        example(`${name}: "${body}" is stored ${n} times`);
      }
    }
    const stored = byRoom.get(c.opts.roomId) ?? [];
    const bodyAt = new Map(stored.map((m) => [m.seq, m.body]));
    const seen = new Set<number>();
    let previous = 0;
    for (const m of c.delivered) {
      v.deliveries++;
      if (seen.has(m.seq)) {
        v.duplicated++;
        example(`${name}: received seq ${m.seq} twice`);
      } else if (m.seq < previous) {
        v.reordered++;
        example(`${name}: received seq ${m.seq} after ${previous}`);
      }
      seen.add(m.seq);
      previous = Math.max(previous, m.seq);
      if (bodyAt.get(m.seq) !== m.body) {
        v.mismatched++;
        example(`${name}: seq ${m.seq} arrived as "${m.body}", stored as "${bodyAt.get(m.seq)}"`);
      }
    }
    // Clients joined before anything was sent, so each must have received its room's whole log.
    const missing = stored.filter((m) => !seen.has(m.seq));
    if (missing.length) {
      v.lost += missing.length;
      example(`${name}: never received seqs ${missing.slice(0, 5).map((m) => m.seq).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
    }
    if (c.streamProblems.length) {
      v.reordered += c.streamProblems.length;
      example(`${name}: server stream: ${c.streamProblems[0]}`);
    }
  }
  return v;
}
