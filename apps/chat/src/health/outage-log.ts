// Fan-out publishes fail while Redis (or the Postgres NOTIFY connection) is unavailable: one per
// group-commit batch, tens per second. Messages are committed already and peers repair from Postgres,
// so a failed publish needs no handling beyond the outage being logged once (when it starts, and when
// publishing works again, with the count of failures in between).
import type { DependencyStatus } from '@parley/logging';
import type { Bus } from '../bus/index.ts';

export function withOutageLog(bus: Bus, status: DependencyStatus): Bus {
  return Object.assign(Object.create(bus) as Bus, {
    publish: (event: Parameters<Bus['publish']>[0]) => bus.publish(event).then(() => status.succeeded(), (err: unknown) => status.failed(err)),
  });
}
