// The set-up shared by integration specs that drive both the services and the HTTP app: a fresh test
// database, the services wired on it, and the app on it; and the matching tear-down.
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { servicesFor, type TestServices } from '../features/control/service-test-kit.ts';
import { buildTestApp } from './inject-client.ts';

export async function servicesAndApp(dbName: string, env?: Record<string, string>): Promise<{ db: TestDatabase; s: TestServices; app: FastifyInstance }> {
  const db = await createTestDatabase(dbName);
  try {
    const app = await buildTestApp({ pool: db.pool, databaseUrl: db.url, ...(env ? { env } : {}) });
    return { db, s: servicesFor(db.pool), app };
  } catch (err) {
    await db.drop(); // the caller never got it, so its tear-down cannot drop it
    throw err;
  }
}

/** Safe when the set-up failed (both are then missing). */
export async function closeServicesAndApp(db: TestDatabase | undefined, app: FastifyInstance | undefined): Promise<void> {
  await app?.close();
  await db?.drop();
}
