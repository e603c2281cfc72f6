// Build every deployable with esbuild: server bundles keep node_modules external (installed in the
// image), workspace packages (@parley/*) are bundled in; the browser client is bundled whole.
import { build } from 'esbuild';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;

const externalDeps = {
  name: 'external-node-modules',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@parley/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const server = (entry, outfile) => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  plugins: [externalDeps],
  logLevel: 'warning',
});

const targets = {
  migrate: server('packages/db/src/migrate-cli.ts', 'packages/db/dist/migrate.js'),
  chat: server('apps/chat/src/main.ts', 'apps/chat/dist/main.js'),
  admin: server('apps/admin/src/main.ts', 'apps/admin/dist/main.js'),
  start: server('scripts/start.ts', 'dist/start.js'),
  bench: { ...server('bench/run.ts', undefined), outfile: undefined, outdir: 'bench/dist', entryPoints: ['bench/run.ts', 'bench/client.ts', 'bench/baseline-ws.ts', 'bench/baseline-sio.ts'] },
  stack: server('scripts/stack.ts', 'dist/stack.js'),
  chaos: server('scripts/chaos.ts', 'dist/chaos.js'),
  'env-docs': server('scripts/env-docs.ts', 'dist/env-docs.js'),
  // Three levels deep so the bundled devtools find the repository root (their ROOT is ../../..).
  screenshots: server('scripts/screenshots.ts', 'dist/tools/screenshots/screenshots.js'),
  // The chat client (Preact, TSX) and the dashboard: ES modules.
  client: {
    entryPoints: ['apps/admin/src/client/app.tsx', 'apps/admin/src/client/dashboard.ts', 'apps/admin/src/client/confirm.ts'],
    outdir: 'apps/admin/dist/public',
    bundle: true,
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'esm',
    // Shared code and lazy parts (the emoji picker's dataset) go to chunks loaded on demand.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  },
  // The theme switch runs as a classic script in <head> (before first paint).
  theme: {
    entryPoints: ['apps/admin/src/client/theme.ts'],
    outfile: 'apps/admin/dist/public/theme.js',
    bundle: true,
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'iife',
    minify: true,
    logLevel: 'warning',
  },
};

const chosen = only ? { [only]: targets[only] } : targets;
const started = Date.now();
await Promise.all(Object.values(chosen).map((options) => build(options)));
if (!process.argv.includes('--quiet')) console.error(`built ${Object.keys(chosen).join(', ')} in ${Date.now() - started} ms`);
