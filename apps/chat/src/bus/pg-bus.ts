// Embedded mode fan-out: Postgres LISTEN/NOTIFY on one dedicated connection, reconnected with backoff.
import pg from 'pg';
import type { Pool } from '@parley/db';
import type { Logger } from '@parley/logging';
import { type Bus, type BusEvent, decodeEvent, encodeEvent, ownEchoPrefix } from './index.ts';

const CHANNEL = 'parley_chat_events';
/** NOTIFY payloads must stay under 8000 bytes; bigger message events go out as a seq hint. */
const MAX_PAYLOAD = 7000;

/** `replicaId`: this replica's batched message events are dropped undecoded when they echo back. */
export function createPgBus(connectionString: string, pool: Pool, log: Logger, replicaId?: string): Bus {
  const ownEcho = replicaId === undefined ? null : ownEchoPrefix(replicaId);
  const handlers: Array<(e: BusEvent) => void> = [];
  const resubscribeHandlers: Array<() => void> = [];
  let listener: pg.Client | null = null;
  let closed = false;
  let everListened = false;
  let delay = 200;

  let retryTimer: NodeJS.Timeout | null = null;
  // Exactly one reconnect is scheduled however the connection failed ('end', 'error' or a failed connect).
  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, 5_000);
  };

  const connect = async () => {
    if (closed) return;
    const client = new pg.Client({ connectionString, application_name: 'parley-chat-listen' });
    client.on('error', (err) => {
      log.warn({ err: err.message }, 'postgres listen connection error');
      if (listener === client) listener = null;
      client.end().catch(() => undefined);
      scheduleReconnect();
    });
    client.on('end', () => {
      if (listener === client) listener = null;
      scheduleReconnect();
    });
    client.on('notification', (msg) => {
      if (ownEcho !== null && msg.payload?.startsWith(ownEcho)) return;
      const event = msg.payload ? decodeEvent(msg.payload) : null;
      if (event) for (const h of handlers) h(event);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      listener = client;
      delay = 200;
      if (everListened) for (const h of resubscribeHandlers) h();
      everListened = true;
    } catch (err) {
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'postgres LISTEN failed; retrying');
      await client.end().catch(() => undefined);
      scheduleReconnect();
    }
  };
  void connect();

  return {
    kind: 'postgres',
    async publish(event) {
      let payload = encodeEvent(event);
      if (event.k === 'msgs' && Buffer.byteLength(payload) > MAX_PAYLOAD) {
        // Too big for one NOTIFY: the highest seq of each room as a hint (receivers fetch up to it).
        const last = new Map<number, number>();
        for (const m of event.messages) last.set(m.roomId, Math.max(m.seq, last.get(m.roomId) ?? 0));
        await Promise.all([...last].map(([room, seq]) => pool.query('SELECT pg_notify($1, $2)', [CHANNEL, encodeEvent({ k: 'tip', room, seq })])));
        return;
      }
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
        if (event.k !== 'upd') throw new Error(`bus event ${event.k} too large for NOTIFY`);
        payload = encodeEvent({ k: 'upd', room: event.room, seq: event.seq, from: event.from }); // receivers fetch it
      }
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    },
    onEvent(h) {
      handlers.push(h);
    },
    onResubscribe(h) {
      resubscribeHandlers.push(h);
    },
    healthy: () => listener !== null,
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await listener?.end().catch(() => undefined);
    },
  };
}
