import type { Pool, PoolClient } from 'pg';
import { checkout } from './checkout.ts';

/**
 * Run `work` in a transaction; roll back on any error and rethrow it. The client is held with an
 * 'error' listener (see checkout.ts): a Postgres restart mid-transaction fails this call, never the
 * process, and the dead connection is discarded.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const held = await checkout(pool);
  const { client } = held;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    held.release();
    return result;
  } catch (err) {
    // After a broken connection ROLLBACK fails at once; the server rolls back on its own.
    if (!held.broken) await client.query('ROLLBACK').catch(() => undefined);
    held.release(err);
    throw err;
  }
}
