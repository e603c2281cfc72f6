// `npm run migrate` and the Kubernetes migration Job: apply pending migrations, then exit.
import { loadConfig } from '@parley/config';
import { createLogger } from '@parley/logging';
import { createPool, describeDbError, waitForDatabase } from './pool.ts';
import { migrate } from './migrate.ts';
import { migrateConfigSchema } from './migrate-config.ts';

const config = loadConfig(migrateConfigSchema);
const log = createLogger('migrate', config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, { max: 1, applicationName: 'parley-migrate' });

try {
  await waitForDatabase(pool, {
    timeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    onRetry: (err, delayMs) => log.warn({ delayMs }, describeDbError(err, config.DATABASE_URL)),
  });
} catch (err) {
  process.stderr.write(`${describeDbError(err, config.DATABASE_URL)}\n`);
  await pool.end().catch(() => undefined);
  process.exit(1);
}
try {
  const result = await migrate(pool);
  log.info(result, result.applied.length ? `applied ${result.applied.length} migration(s)` : 'database schema is up to date');
} catch (err) {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
