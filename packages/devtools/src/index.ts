// Helpers for local runs and tests: real Postgres and Redis instances of our own, child processes of
// the built services, and waiting for ports and health endpoints.
export { startEmbeddedPostgres, type EmbeddedPg } from './embedded-pg.ts';
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.ts';
export { startPgServer, type PgServer } from './pg-server.ts';
export { spawnService, type ServiceProcess } from './service.ts';
export { waitForHttp, waitForPortFree, freePort } from './wait.ts';
export { createTestDatabase, testRedisPrefix, dropRedisPrefix, TEST_PG_URL, TEST_REDIS_URL, type TestDatabase } from './test-env.ts';
export { startStack, type Stack, type StackOptions } from './stack.ts';
export { serviceEnv, dependencyEnv, listenEnv, type Deployment, type ServiceSecrets, type ProcessSpec, type AdminProcessSpec, type ChatProcessSpec, type MigrateProcessSpec, type AttachmentStorage } from './service-env.ts';
export { keptSecrets, keptServiceSecrets, randomSecret, randomServiceSecrets } from './secrets-file.ts';
export { missingPrerequisite } from './prerequisite.ts';
export { startS3Server, uploadCorsXml, type S3Server } from './s3-server.ts';
