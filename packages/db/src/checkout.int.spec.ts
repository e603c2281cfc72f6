// A backend killed while its client is checked out (what a Postgres restart or stop does to every busy
// connection) must fail the operation, not the process: without the checkout's 'error' listener pg's
// 'error' event has no listener and throws out of the socket handler (vitest reports it as an unhandled
// error, a real process exits). Also: the broken client is discarded, and the pool serves again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPool } from './pool.ts';
import { checkout, withClient } from './checkout.ts';
import { withTransaction } from './tx.ts';
import { isConnectionError } from './pool.ts';
import { TEST_PG_URL } from '../../devtools/src/test-env.ts';

let pool: pg.Pool;
let killer: pg.Pool;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(() => {
  pool = createPool(TEST_PG_URL, { max: 2, applicationName: 'parley-checkout-spec' });
  killer = createPool(TEST_PG_URL, { max: 1, applicationName: 'parley-checkout-killer' });
  process.on('uncaughtException', onUncaught);
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await pool.end();
  await killer.end();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function terminate(pid: number): Promise<void> {
  const { rows } = await killer.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
  expect(rows[0]!.ok).toBe(true);
}

async function backendPid(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

describe('checked-out clients survive their backend dying', () => {
  it('withTransaction: the backend is terminated between two statements → the call rejects, the process lives, the pool recovers', async () => {
    let pid = 0;
    const outcome = withTransaction(pool, async (client) => {
      pid = await backendPid(client);
      await client.query('SELECT 1');
      // Idle in transaction while the backend is killed: pg emits 'error' on the client with no query
      // in flight (the case that crashed chat replicas).
      await terminate(pid);
      await sleep(300);
      await client.query('SELECT 2');
    });
    await expect(outcome).rejects.toSatisfy(isConnectionError);
    expect(uncaught).toEqual([]);
    // The dead client was discarded: the next checkouts get live backends.
    const pids = await Promise.all([0, 1].map(() => withTransaction(pool, (c) => backendPid(c))));
    expect(pids).not.toContain(pid);
    expect(pool.totalCount).toBeLessThanOrEqual(2);
  });

  it('withClient: a query in flight when the backend dies rejects with a connection error', async () => {
    const outcome = withClient(pool, async (client) => {
      const pid = await backendPid(client);
      const slow = client.query('SELECT pg_sleep(5)');
      // Handled from the start: it rejects while terminate() is still awaited, which would otherwise be
      // reported as an unhandled rejection before `await slow` attaches its handler.
      slow.catch(() => undefined);
      await sleep(100);
      await terminate(pid);
      await slow;
    });
    await expect(outcome).rejects.toSatisfy(isConnectionError);
    await sleep(200);
    expect(uncaught).toEqual([]);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });

  it('checkout: a client that broke while held is released with its error and never handed out again', async () => {
    const held = await checkout(pool);
    const pid = await backendPid(held.client);
    await terminate(pid);
    await sleep(300);
    expect(held.broken).not.toBeNull();
    held.release();
    expect(uncaught).toEqual([]);
    const pids = await Promise.all([0, 1].map(() => withClient(pool, (c) => backendPid(c))));
    expect(pids).not.toContain(pid);
  });
});

describe('isConnectionError', () => {
  it('tells outages from failed statements', () => {
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
  });
});
