// Clients checked out of a pg.Pool, safely. While a client is checked out pg-pool removes its own
// 'error' listener, and pg emits 'error' on the client when its backend dies (Postgres restart, stop,
// pg_terminate_backend, network cut). An EventEmitter 'error' with no listener throws, which exits the
// process. So every checkout here listens for the whole time it holds the client, and a client that
// broke is released with the error so the pool discards it instead of handing it out again.
import type { Pool, PoolClient } from 'pg';
import { isConnectionError } from './pool.ts';

export interface Checkout {
  readonly client: PoolClient;
  /** The error that broke the connection while checked out, if any. */
  readonly broken: Error | null;
  /** Give the client back; pass the error of a failed operation so a broken connection is discarded. */
  release(err?: unknown): void;
}

/** Check a client out with an 'error' listener attached until `release`. */
export async function checkout(pool: Pool): Promise<Checkout> {
  const client = await pool.connect();
  let broken: Error | null = null;
  let released = false;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  return {
    client,
    get broken() {
      return broken;
    },
    release(err?: unknown) {
      if (released) return;
      released = true;
      if (!broken && err !== undefined && isConnectionError(err)) broken = err as Error;
      // pg-pool puts its idle listener back in release() before anything else can emit.
      client.removeListener('error', onError);
      client.release(broken ?? undefined);
    },
  };
}

/** Run `work` with a checked-out client (see `checkout`); the client goes back (or is discarded) after. */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const held = await checkout(pool);
  try {
    const result = await work(held.client);
    held.release();
    return result;
  } catch (err) {
    held.release(err);
    throw err;
  }
}
