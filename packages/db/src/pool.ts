import pg from 'pg';
import { redactUrlPassword } from '@parley/config';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// bigint ids and counters fit easily in a JS number for this product's lifetime; parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createPool(connectionString: string, options: { max?: number; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'parley',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server (Postgres restart) emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

const FATAL_CODES: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'authentication rejected',
  '3D000': 'database does not exist',
  '42501': 'insufficient privilege',
};

/**
 * Errors worth retrying with backoff: the server not up yet, the network, DNS (in Kubernetes a
 * Service name may not resolve for a moment after pod start). Auth and a missing database are not.
 */
export function isRetryableDbError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return !(code && FATAL_CODES[code]);
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
// SQLSTATE: admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown, cannot_connect_now
// (starting up / shutting down), too_many_connections.
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * The database (or the way to it) is unavailable, as opposed to a statement that failed: the network,
 * a server restarting or stopped, a connection that died under us, the pool's connect timeout. Callers
 * answer "unavailable, retry" for these and log the outage once rather than each failure.
 */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  // pg's own errors carry no code.
  return typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Connection closed)/.test(message);
}

/** One human line for a connection failure, with the URL's password hidden. */
export function describeDbError(err: unknown, url: string): string {
  const e = err as { code?: string; message?: string };
  const reason = (e.code && FATAL_CODES[e.code]) ?? e.message ?? String(err);
  return `cannot connect to PostgreSQL at DATABASE_URL=${redactUrlPassword(url)}: ${reason}${e.code ? ` (${e.code})` : ''}`;
}

/**
 * Wait until the database answers, retrying with capped exponential backoff.
 * Gives up at once on errors that waiting cannot fix, or after `timeoutMs`.
 */
export async function waitForDatabase(
  pool: pg.Pool,
  { timeoutMs = 30_000, onRetry }: { timeoutMs?: number; onRetry?: (err: unknown, delayMs: number) => void } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (!isRetryableDbError(err) || Date.now() + delay > deadline) throw err;
      onRetry?.(err, delay);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
