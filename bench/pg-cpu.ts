// CPU spent by Postgres processes during a measured window, read from /proc/<pid>/stat (Postgres runs on
// this machine). Backends are picked from pg_stat_activity by database and application_name, so other
// databases on the shared server do not count; the server-wide helpers (WAL writer, checkpointer,
// background writer) are reported apart because other jobs on the same server also make them work.
import type { Pool } from '@parley/db';
import { cpuSeconds } from './common.ts';

/** Server-wide processes whose work scales with everyone's writes (shared with other databases). */
const SHARED_BACKEND_TYPES = ['walwriter', 'checkpointer', 'background writer'];

interface Pids {
  backends: number[];
  shared: number[];
}

export interface PgCpuWindow {
  /** CPU seconds of the selected backends of this database */
  backendSeconds: number;
  /** CPU seconds of the WAL writer, checkpointer and background writer (whole server) */
  sharedSeconds: number;
  backends: number;
}

async function pidsOf(pool: Pool, applicationNames: string[]): Promise<Pids> {
  const { rows } = await pool.query<{ pid: number; kind: 'backend' | 'shared' }>(
    `SELECT pid, CASE WHEN backend_type = ANY($2::text[]) THEN 'shared' ELSE 'backend' END AS kind
       FROM pg_stat_activity
      WHERE backend_type = ANY($2::text[])
         OR (datname = current_database() AND application_name = ANY($1::text[]))
         OR (datname = current_database() AND backend_type = 'autovacuum worker')`,
    [applicationNames, SHARED_BACKEND_TYPES],
  );
  return { backends: rows.filter((r) => r.kind === 'backend').map((r) => r.pid), shared: rows.filter((r) => r.kind === 'shared').map((r) => r.pid) };
}

const cpuOf = (pids: Iterable<number>) => new Map([...pids].map((pid) => [pid, cpuSeconds(pid)]));

/** Starts a window: call the returned function at its end. Backends that appear in between count from zero. */
export async function startPgCpuWindow(pool: Pool, applicationNames: string[]): Promise<() => Promise<PgCpuWindow>> {
  const before = await pidsOf(pool, applicationNames);
  const b0 = cpuOf(before.backends);
  const s0 = cpuOf(before.shared);
  return async () => {
    // Read the known pids first (the query below costs a little CPU on the bench pool's own backend only).
    const b1 = cpuOf(b0.keys());
    const s1 = cpuOf(s0.keys());
    const after = await pidsOf(pool, applicationNames);
    for (const pid of after.backends) if (!b1.has(pid)) b1.set(pid, cpuSeconds(pid));
    const delta = (end: Map<number, number>, start: Map<number, number>) => {
      let s = 0;
      // A process that exited reads 0: it adds nothing rather than a negative amount.
      for (const [pid, v] of end) s += Math.max(0, v - (start.get(pid) ?? 0));
      return s;
    };
    return { backendSeconds: delta(b1, b0), sharedSeconds: delta(s1, s0), backends: b1.size };
  };
}
