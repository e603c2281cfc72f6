export { createPool, waitForDatabase, describeDbError, isRetryableDbError, type Pool, type PoolClient } from './pool.ts';
export { migrate, MIGRATIONS_DIR, type MigrationResult } from './migrate.ts';
export { withTransaction } from './tx.ts';
