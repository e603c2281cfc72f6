// node-postgres pool saturation as gauges, read at scrape time (no timers): both services register it.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';

export function registerPoolMetrics(registry: Registry, pool: Pool, max: number): void {
  new Gauge({ name: 'parley_db_pool_connections', help: 'Postgres pool connections by state (total = open, idle = open and unused)', labelNames: ['state'] as const, registers: [registry], collect() {
    this.set({ state: 'total' }, pool.totalCount);
    this.set({ state: 'idle' }, pool.idleCount);
  } });
  new Gauge({ name: 'parley_db_pool_waiting', help: 'Queries waiting for a free Postgres pool connection', registers: [registry], collect() { this.set(pool.waitingCount); } });
  new Gauge({ name: 'parley_db_pool_max', help: 'Configured size of the Postgres pool (DB_POOL_MAX)', registers: [registry], collect() { this.set(max); } });
  const errors = new Counter({ name: 'parley_db_pool_errors_total', help: 'Errors emitted by idle Postgres pool connections (server restarted, network cut)', registers: [registry] });
  pool.on('error', () => errors.inc());
}
