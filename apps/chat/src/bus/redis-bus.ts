// Redis fan-out over sharded pub/sub (SPUBLISH/SSUBSCRIBE: plain pub/sub on a single Redis 7, one hash
// slot per channel on Redis Cluster). Channels are in routes.ts: one per room, subscribed only while this
// replica serves the room (redis-room-channels.ts), and two replica-wide ones always subscribed.
import { Redis } from 'ioredis';
import type { Logger } from '@parley/logging';
import { type Bus, type BusEvent, type Resubscribed, decodeEvent, encodeEvent, ownEchoPrefix } from './index.ts';
import { RoomChannels } from './redis-room-channels.ts';
import { PRESENCE_CHANNEL, REPLICAS_CHANNEL, roomOfChannel, routeEvent } from './routes.ts';

const CONFIRM_COALESCE_MS = 20;

export function redisOptions() {
  return {
    // Retry forever with capped backoff: Redis may start after us or restart under us.
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
}

export interface RedisBusOptions {
  /** This replica's batched message events are dropped undecoded when they echo back. */
  replicaId?: string;
  onRedisError?: (client: 'pub' | 'sub') => void;
  /** How long a room's channel stays subscribed after its last local socket left (default 5 s). */
  roomLingerMs?: number;
}

export function createRedisBus(url: string, prefix: string, log: Logger, options: RedisBusOptions = {}): Bus {
  const { replicaId, onRedisError, roomLingerMs = 5_000 } = options;
  const replicaWide = [PRESENCE_CHANNEL, REPLICAS_CHANNEL].map((c) => `${prefix}${c}`);
  const ownEcho = replicaId === undefined ? null : ownEchoPrefix(replicaId);
  // Named per replica so CLIENT LIST tells the replicas' connections apart.
  const name = (role: string) => `parley-chat-${role}${replicaId === undefined ? '' : `:${replicaId.replace(/[^\w.:-]/g, '_')}`}`;
  const pub = new Redis(url, { ...redisOptions(), connectionName: name('pub') });
  // Subscriptions are redone by RoomChannels on every connect (in chunks, with per-room repair).
  const sub = new Redis(url, { ...redisOptions(), connectionName: name('sub'), autoResubscribe: false, autoResendUnfulfilledCommands: false });
  const handlers: Array<(e: BusEvent) => void> = [];
  const resubscribeHandlers: Array<(lost: Resubscribed) => void> = [];
  const resubscribed = (lost: Resubscribed) => {
    for (const h of resubscribeHandlers) h(lost);
  };
  // Confirmations of a burst of joins (or of a reconnect's chunks) go out together: one Postgres
  // reconcile for all of them, not one per room.
  let confirmed: number[] = [];
  const confirm = (ids: number[]) => {
    if (!confirmed.length) {
      setTimeout(() => {
        const rooms = confirmed;
        confirmed = [];
        resubscribed({ rooms, replicaWide: false });
      }, CONFIRM_COALESCE_MS).unref();
    }
    confirmed.push(...ids);
  };
  const rooms = new RoomChannels(sub, prefix, roomLingerMs, confirm, log);
  let subscribed = false;
  let everSubscribed = false;

  for (const [name, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err) => {
      onRedisError?.(name);
      log.warn({ err: err.message, client: name }, 'redis connection error');
    });
  }
  sub.on('ready', () => {
    sub.ssubscribe(...replicaWide).then(
      () => {
        subscribed = true;
        if (everSubscribed) resubscribed({ rooms: [], replicaWide: true });
        everSubscribed = true;
        log.info({ channels: replicaWide, rooms: rooms.size }, 'subscribed to redis fan-out channels');
      },
      (err: Error) => log.error({ err: err.message }, 'redis subscribe failed'),
    );
    rooms.connected();
  });
  sub.on('close', () => {
    subscribed = false;
    rooms.disconnected();
  });
  const roomPrefixAt = prefix.length;
  sub.on('smessage', (channel: string, payload: string) => {
    // A lingering room's channel: nobody here wants it, drop it before decoding.
    const room = roomOfChannel(channel.slice(roomPrefixAt));
    if (room !== null && !rooms.wants(room)) return;
    if (ownEcho !== null && payload.startsWith(ownEcho)) return;
    const event = decodeEvent(payload);
    if (event) for (const h of handlers) h(event);
  });

  return {
    kind: 'redis',
    async publish(event) {
      const routed = routeEvent(event);
      if (routed.length === 1) {
        await pub.spublish(`${prefix}${routed[0]!.channel}`, encodeEvent(routed[0]!.event));
        return;
      }
      // A batch spanning rooms: one event per room channel, written in one go.
      const pipeline = pub.pipeline();
      for (const r of routed) pipeline.spublish(`${prefix}${r.channel}`, encodeEvent(r.event));
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0]!;
    },
    onEvent(h) {
      handlers.push(h);
    },
    watchRoom: (roomId) => rooms.watch(roomId),
    unwatchRoom: (roomId) => rooms.unwatch(roomId),
    onResubscribe(h) {
      resubscribeHandlers.push(h);
    },
    healthy: () => subscribed && pub.status === 'ready',
    async close() {
      rooms.close();
      sub.disconnect();
      await pub.quit().catch(() => pub.disconnect());
    },
  };
}
