// Prunes control events older than the retention period (docs: CONTROL-PLANE rule 6), on a timer and
// once soon after start. Idempotent and cheap: deletes by the created_at index in bounded batches, so
// several admin instances may run it at once. The counter row is never touched, so ids keep growing
// without gaps and a replica's cursor (always far newer than the retention) stays valid.
import type { Pool } from '@parley/db';
import type { Logger } from '@parley/logging';

const BATCH = 5_000;

/** Deletes events created before `now - retentionMs`; returns how many. */
export async function pruneControlEvents(pool: Pick<Pool, 'query'>, retentionMs: number, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - retentionMs);
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      'DELETE FROM control_events WHERE id IN (SELECT id FROM control_events WHERE created_at < $1 ORDER BY created_at LIMIT $2)',
      [cutoff, BATCH],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < BATCH) return total;
  }
}

export function startControlEventPruner(pool: Pool, log: Logger, opts: { retentionMs: number; everyMs: number; firstAfterMs?: number }): { stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const run = async () => {
    try {
      const pruned = await pruneControlEvents(pool, opts.retentionMs);
      if (pruned > 0) log.info({ pruned }, 'old control events pruned');
    } catch (err) {
      // Postgres may be away: the next run retries; nothing depends on pruning promptly.
      log.warn({ err: (err as Error).message }, 'pruning control events failed');
    }
    if (!stopped) schedule(opts.everyMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  schedule(opts.firstAfterMs ?? 60_000);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
