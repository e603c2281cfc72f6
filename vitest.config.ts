import { defineConfig } from 'vitest/config';

// One run for every kind of test: unit specs beside the code (*.spec.ts), integration specs against
// real Postgres/Redis (*.int.spec.ts), end-to-end specs with real processes, NGINX and Chromium
// (e2e/**), and the deployment checks (deploy/tests/**). Two cores: keep parallelism modest.
export default defineConfig({
  test: {
    include: ['apps/*/src/**/*.spec.ts', 'packages/*/src/**/*.spec.ts', 'e2e/**/*.spec.ts', 'deploy/tests/**/*.spec.ts', 'bench/**/*.spec.ts', 'scripts/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
