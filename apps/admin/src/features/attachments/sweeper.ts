// Removes the objects of deleted attachments. Deletion is two steps so neither a crash nor an outage of
// the store loses or leaks anything: Postgres marks the row deleted (in the message delete's
// transaction), then this sweeper deletes the objects and only then forgets the row. Every step is
// idempotent, so several admin replicas may sweep at once and a failed run is simply retried.
import type { Logger } from '@parley/logging';
import type { AttachmentRepository } from './attachment-repository.ts';
import type { ObjectStore } from './storage/storage.ts';
import { thumbnailKeyOf } from './service.ts';

const BATCH = 200;

/**
 * One pass: marks orphans deleted, removes deleted rows' objects and rows (a discarded direct upload's
 * once its presigned URL has expired, `uploadUrlMs`), then the staging objects of completed direct
 * uploads whose URL has expired (a PUT replayed after /complete recreates one). Returns rows removed.
 */
export async function sweepAttachments(attachments: AttachmentRepository, store: ObjectStore, unsentMs: number, uploadUrlMs = 0): Promise<number> {
  await attachments.markOrphansDeleted(unsentMs);
  let removed = 0;
  for (;;) {
    const doomed = await attachments.doomed(BATCH, uploadUrlMs);
    for (const d of doomed) {
      // A thumbnail may exist that its row never recorded (discarded or crashed while being completed).
      for (const key of new Set([...d.keys, thumbnailKeyOf(d.keys[0]!)])) await store.delete(key);
      await attachments.forget(d.id);
      removed++;
    }
    if (doomed.length < BATCH) break;
  }
  for (;;) {
    const staged = await attachments.expiredUploadKeys(BATCH, uploadUrlMs);
    for (const s of staged) {
      await store.delete(s.uploadKey);
      await attachments.clearUploadKey(s.id, s.uploadKey);
    }
    if (staged.length < BATCH) return removed;
  }
}

export function startAttachmentSweeper(
  attachments: AttachmentRepository, store: ObjectStore, log: Logger, opts: { unsentMs: number; uploadUrlMs: number; everyMs: number; firstAfterMs?: number },
): { stop(): void; runNow(): Promise<number> } {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<number> | null = null;
  const runNow = (): Promise<number> => {
    running ??= sweepAttachments(attachments, store, opts.unsentMs, opts.uploadUrlMs).finally(() => {
      running = null;
    });
    return running;
  };
  const run = async () => {
    try {
      const removed = await runNow();
      if (removed > 0) log.info({ removed }, 'deleted attachments removed from storage');
    } catch (err) {
      // Postgres or the store may be away: the rows stay marked and the next run retries.
      log.warn({ err: (err as Error).message }, 'sweeping deleted attachments failed');
    }
    if (!stopped) schedule(opts.everyMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  schedule(opts.firstAfterMs ?? 30_000);
  return {
    runNow,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
