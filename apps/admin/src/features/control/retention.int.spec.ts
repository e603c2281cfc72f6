// Control events older than the retention are pruned; newer ones, the id counter and the gap-free id
// sequence of later events are untouched; pruning twice is harmless. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { lastControlEventId, recordControlEvent, withTransaction } from '@parley/db';
import { pruneControlEvents } from './retention.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('admin_retention');
});
afterAll(async () => db?.drop());

const DAY = 86_400_000;

describe('control event retention', () => {
  it('prunes only events older than the retention, idempotently, keeping ids growing without gaps', async () => {
    for (let i = 0; i < 12; i++) await withTransaction(db.pool, (tx) => recordControlEvent(tx, { kind: 'mute', userId: i + 1, roomId: 1, payload: { until: null } }));
    // Events 1-7 are 8 days old, 8-10 six days, 11-12 new.
    await db.pool.query(`UPDATE control_events SET created_at = now() - interval '8 days' WHERE id <= 7`);
    await db.pool.query(`UPDATE control_events SET created_at = now() - interval '6 days' WHERE id BETWEEN 8 AND 10`);

    expect(await pruneControlEvents(db.pool, 7 * DAY)).toBe(7);
    expect(await pruneControlEvents(db.pool, 7 * DAY)).toBe(0);
    const ids = async () => (await db.pool.query<{ id: number }>('SELECT id FROM control_events ORDER BY id')).rows.map((r) => Number(r.id));
    expect(await ids()).toEqual([8, 9, 10, 11, 12]);
    expect(await lastControlEventId(db.pool)).toBe(12);

    const next = await withTransaction(db.pool, (tx) => recordControlEvent(tx, { kind: 'user_status', userId: 1, payload: { status: 'banned' } }));
    expect(next).toBe(13);
    expect(await pruneControlEvents(db.pool, 5 * DAY)).toBe(3);
    expect(await ids()).toEqual([11, 12, 13]);
  });
});
