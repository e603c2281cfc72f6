export { createPool, waitForDatabase, describeDbError, isRetryableDbError, isConnectionError, type Pool, type PoolClient } from './pool.ts';
export { checkout, withClient, type Checkout } from './checkout.ts';
export { migrate, MIGRATIONS_DIR, type MigrationResult } from './migrate.ts';
export { migrateConfigSchema } from './migrate-config.ts';
export { withTransaction } from './tx.ts';
export { recordControlEvent, controlEventsAfter, lastControlEventId, type ControlEvent, type ControlEventKind, type NewControlEvent } from './control-events.ts';
