import { defineConfig } from 'vitest/config';

// Four projects, one run: `npm test` runs them all; `npm run test:unit` (and :integration, :e2e,
// :deploy) runs one for the inner loop.
// - unit: specs beside the code (*.spec.ts), no network, no processes (< 1 min).
// - integration: *.int.spec.ts beside the code, against the real Postgres and Redis.
// - e2e: real processes (chat replicas, admin, NGINX, Chromium), e2e/** and the benchmark's smoke run.
// - deploy: images, manifests, edge config (deploy/tests/**).
// Two cores: keep parallelism modest.
const projects = [
  { name: 'unit', include: ['apps/*/src/**/*.spec.ts', 'packages/*/src/**/*.spec.ts', 'scripts/**/*.spec.ts'], exclude: ['**/*.int.spec.ts'] },
  { name: 'integration', include: ['apps/*/src/**/*.int.spec.ts', 'packages/*/src/**/*.int.spec.ts'] },
  { name: 'e2e', include: ['e2e/**/*.spec.ts', 'bench/**/*.spec.ts'] },
  { name: 'deploy', include: ['deploy/tests/**/*.spec.ts'] },
];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
    projects: projects.map(({ name, include, exclude = [] }) => ({
      extends: true,
      test: { name, include, exclude: ['**/node_modules/**', '**/dist/**', ...exclude] },
    })),
  },
});
