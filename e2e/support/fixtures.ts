// The set-up every end-to-end spec repeated, as vitest fixtures scoped to the spec file: its own
// database (a copy of the migrated template), its own key prefix on the shared Redis (or a
// redis-server of its own, for specs that stop it, or none), the built
// services (admin + chat replicas) started against both, the test sockets opened to them, Chromium,
// and the pages (one browser context per person) opened in it. Each is made only when a spec uses it, once per file, and taken down after the file's
// last test (and its afterAll hooks) in the reverse order: sockets, browser and services first, then
// the database and the Redis keys.
//
//   const test = e2eTest({ label: 'chat_protocol', stack: { admin: false, chatEnv: { ... } } });
//   test.beforeAll(({ stack, db }) => { ... });        // suite hooks see file-scoped fixtures
//   test('...', async ({ stack, db, browser }) => { ... });
import { test as base } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  createTestDatabase, dropRedisPrefix, freePort, startRedisServer, startStack, testRedisPrefix, TEST_REDIS_URL,
  type RedisServer, type RedisServerOptions, type Stack, type StackOptions, type TestDatabase,
} from '@parley/devtools';
import { launchBrowser } from './browser.ts';
import { PageJar } from './pages.ts';
import { SocketJar } from './sockets.ts';

export interface E2eSetup {
  /** Names the database (`parley_<label>_<random>`) and the Redis prefix, so leftovers say whose they are. */
  label: string;
  /** How to start the services; where their data lives is the fixtures' business. */
  stack?: Omit<StackOptions, 'databaseUrl' | 'redisUrl' | 'redisPrefix'>;
  /**
   * Which Redis the services use: the shared one under the file's own key prefix (default); a
   * redis-server of the file's own on a free port (`ownRedis`), for specs that stop or restart it; or
   * none at all (the embedded mode).
   */
  redis?: 'shared' | { own: RedisServerOptions } | 'none';
}

export function e2eTest(setup: E2eSetup) {
  return base
    .extend('setup', { scope: 'file' }, setup)
    .extend('db', { scope: 'file' }, async ({ setup }, { onCleanup }): Promise<TestDatabase> => {
      const db = await createTestDatabase(setup.label);
      onCleanup(() => db.drop());
      return db;
    })
    .extend('redisPrefix', { scope: 'file' }, ({ setup }, { onCleanup }): string => {
      const prefix = testRedisPrefix(setup.label);
      // Only the shared Redis keeps keys after the file; an own server goes away with them.
      if ((setup.redis ?? 'shared') === 'shared') onCleanup(() => dropRedisPrefix(prefix));
      return prefix;
    })
    .extend('ownRedis', { scope: 'file' }, async ({ setup }, { onCleanup }): Promise<RedisServer | null> => {
      if (typeof setup.redis !== 'object') return null;
      const server = await startRedisServer(await freePort(), setup.redis.own);
      onCleanup(() => server.stop().catch(() => undefined)); // the spec may have stopped it already
      return server;
    })
    .extend('stack', { scope: 'file' }, async ({ setup, db, redisPrefix, ownRedis }, { onCleanup }): Promise<Stack> => {
      const redisUrl = setup.redis === 'none' ? undefined : ownRedis?.url ?? TEST_REDIS_URL;
      const redis = redisUrl === undefined ? {} : { redisUrl, redisPrefix };
      const stack = await startStack({ ...setup.stack, databaseUrl: db.url, ...redis });
      onCleanup(() => stack.stop());
      return stack;
    })
    .extend('sockets', { scope: 'file' }, ({ stack }, { onCleanup }): SocketJar => {
      const jar = new SocketJar(stack);
      onCleanup(() => jar.closeAll());
      return jar;
    })
    // vitest reads a fixture's dependencies from its first parameter, which must be a destructuring.
    // eslint-disable-next-line no-empty-pattern
    .extend('browser', { scope: 'file' }, async ({}, { onCleanup }): Promise<Browser> => {
      const browser = await launchBrowser();
      onCleanup(() => browser.close());
      return browser;
    })
    .extend('pages', { scope: 'file' }, ({ browser, stack }, { onCleanup }): PageJar => {
      const jar = new PageJar(browser, stack);
      onCleanup(() => jar.closeAll());
      return jar;
    });
}
