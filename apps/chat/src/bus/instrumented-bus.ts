// Wraps any Bus with its health metrics: events received by kind, their age on arrival (pub/sub lag),
// failed publishes and re-subscriptions. The bus implementations stay free of metrics code.
import type { ChatMetrics } from '../metrics.ts';
import type { Bus, BusEvent } from './index.ts';

type BusMetrics = Pick<ChatMetrics, 'busEvents' | 'busLag' | 'busReconnects' | 'busPublishErrors'>;

export function instrumentBus(bus: Bus, metrics: BusMetrics): Bus {
  bus.onResubscribe((lost) => {
    if (lost.replicaWide) metrics.busReconnects.inc();
  });
  return {
    kind: bus.kind,
    async publish(event) {
      try {
        await bus.publish(event);
      } catch (err) {
        metrics.busPublishErrors.inc();
        throw err;
      }
    },
    onEvent(handler) {
      bus.onEvent((event) => {
        observe(event, metrics);
        handler(event);
      });
    },
    watchRoom: (roomId) => bus.watchRoom(roomId),
    unwatchRoom: (roomId) => bus.unwatchRoom(roomId),
    onResubscribe: (h) => bus.onResubscribe(h),
    healthy: () => bus.healthy(),
    close: () => bus.close(),
  };
}

const KINDS = new Set<string>(['msgs', 'tip', 'typing', 'presence', 'presence_diff', 'replica', 'sync', 'bye'] satisfies BusEvent['k'][]);

function observe(event: BusEvent, metrics: BusMetrics): void {
  metrics.busEvents.inc({ kind: KINDS.has(event.k) ? event.k : 'other' });
  const now = Date.now();
  const age = (createdAt: string) => {
    const at = Date.parse(createdAt);
    if (Number.isFinite(at)) metrics.busLag.observe(Math.max(0, now - at) / 1000);
  };
  if (event.k === 'msgs' && event.messages.length) age(event.messages[0]!.createdAt);
}
