// Embedded mode fan-out: Postgres LISTEN/NOTIFY on one dedicated connection, reconnected with backoff.
// One channel for every event: embedded mode is a single replica or a few, so per-room channels (see
// routes.ts for Redis) would buy little, and LISTEN per room would cost a statement per join.
import type { Pool } from '@parley/db';
import type { Logger } from '@parley/logging';
import { type Bus, type BusEvent, type Resubscribed, decodeEvent, encodeEvent, ownEchoPrefix } from './index.ts';
import { listenPg } from './pg-listener.ts';

const CHANNEL = 'parley_chat_events';
/** NOTIFY payloads must stay under 8000 bytes; bigger message events go out as a seq hint. */
const MAX_PAYLOAD = 7000;

/** `replicaId`: this replica's batched message events are dropped undecoded when they echo back. */
export function createPgBus(connectionString: string, pool: Pool, log: Logger, replicaId?: string): Bus {
  const ownEcho = replicaId === undefined ? null : ownEchoPrefix(replicaId);
  const handlers: Array<(e: BusEvent) => void> = [];
  const resubscribeHandlers: Array<(lost: Resubscribed) => void> = [];
  const listener = listenPg({
    connectionString,
    channel: CHANNEL,
    applicationName: 'parley-chat-listen',
    log,
    onNotify: (payload) => {
      if (ownEcho !== null && payload.startsWith(ownEcho)) return;
      const event = decodeEvent(payload);
      if (event) for (const h of handlers) h(event);
    },
    onRelisten: () => {
      for (const h of resubscribeHandlers) h({ rooms: 'all', replicaWide: true });
    },
  });

  return {
    kind: 'postgres',
    async publish(event) {
      const payload = encodeEvent(event);
      const tooBig = Buffer.byteLength(payload) > MAX_PAYLOAD;
      if (event.k === 'msgs' && tooBig) {
        // Too big for one NOTIFY: the highest seq of each room as a hint (receivers fetch up to it).
        const last = new Map<number, number>();
        for (const m of event.messages) last.set(m.roomId, Math.max(m.seq, last.get(m.roomId) ?? 0));
        await Promise.all([...last].map(([room, seq]) => pool.query('SELECT pg_notify($1, $2)', [CHANNEL, encodeEvent({ k: 'tip', room, seq })])));
        return;
      }
      if (tooBig) throw new Error(`bus event ${event.k} too large for NOTIFY`);
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    },
    onEvent(h) {
      handlers.push(h);
    },
    // One channel that always carries every room: a room's events flow as soon as it is watched.
    watchRoom: () => Promise.resolve(),
    unwatchRoom: () => undefined,
    onResubscribe(h) {
      resubscribeHandlers.push(h);
    },
    healthy: () => listener.listening(),
    close: () => listener.close(),
  };
}
