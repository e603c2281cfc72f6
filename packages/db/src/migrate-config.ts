// The environment of `npm run migrate` and the Kubernetes migration Job.
import { postgresUrl, positiveInt, z } from '@parley/config';

export const migrateConfigSchema = z.object({
  DATABASE_URL: postgresUrl.describe('`postgres://user:password@host:port/db`, as for the services'),
  DB_CONNECT_TIMEOUT_MS: positiveInt(30_000, 'a number of milliseconds')
    .describe('How long to retry an unreachable database (auth errors and a missing database fail at once)'),
  LOG_LEVEL: z.string().default('info').describe('As for the services'),
});
