import { Redis } from 'ioredis';
import type { Logger } from '@parley/logging';
import { type Bus, type BusEvent, decodeEvent, encodeEvent, ownEchoPrefix } from './index.ts';

export function redisOptions() {
  return {
    // Retry forever with capped backoff: Redis may start after us or restart under us.
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
}

/** `replicaId`: this replica's batched message events are dropped undecoded when they echo back. */
export function createRedisBus(url: string, prefix: string, log: Logger, replicaId?: string, onRedisError?: (client: 'pub' | 'sub') => void): Bus {
  const channel = `${prefix}chat-events`;
  const ownEcho = replicaId === undefined ? null : ownEchoPrefix(replicaId);
  const pub = new Redis(url, { ...redisOptions(), connectionName: 'parley-chat-pub' });
  const sub = new Redis(url, { ...redisOptions(), connectionName: 'parley-chat-sub' });
  const handlers: Array<(e: BusEvent) => void> = [];
  const resubscribeHandlers: Array<() => void> = [];
  let subscribed = false;
  let everSubscribed = false;

  for (const [name, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err) => {
      onRedisError?.(name);
      log.warn({ err: err.message, client: name }, 'redis connection error');
    });
  }
  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => {
        subscribed = true;
        if (everSubscribed) for (const h of resubscribeHandlers) h();
        everSubscribed = true;
        log.info({ channel }, 'subscribed to redis fan-out channel');
      },
      (err: Error) => log.error({ err: err.message }, 'redis subscribe failed'),
    );
  });
  sub.on('close', () => {
    subscribed = false;
  });
  sub.on('message', (_ch: string, payload: string) => {
    if (ownEcho !== null && payload.startsWith(ownEcho)) return;
    const event = decodeEvent(payload);
    if (event) for (const h of handlers) h(event);
  });

  return {
    kind: 'redis',
    async publish(event) {
      await pub.publish(channel, encodeEvent(event));
    },
    onEvent(h) {
      handlers.push(h);
    },
    onResubscribe(h) {
      resubscribeHandlers.push(h);
    },
    healthy: () => subscribed && pub.status === 'ready',
    async close() {
      sub.disconnect();
      await pub.quit().catch(() => pub.disconnect());
    },
  };
}
