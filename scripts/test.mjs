#!/usr/bin/env node
// `npm test`: everything a fresh machine needs, then every check. Idempotent: installs only what is
// missing (Debian packages for NGINX, Chromium, Redis, OpenSSL, podman), starts Postgres/Redis only if
// they are not answering, then type-check, lint, build and the whole vitest suite.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

const step = (name) => process.stderr.write(`\n== ${name}\n`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    process.stderr.write(`\n${cmd} ${args.join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
};
const portOpen = (port) => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
  s.setTimeout(1000, () => { s.destroy(); resolve(false); });
});

// ---- system packages ------------------------------------------------------------------------------
const needed = [
  ['nginx', 'nginx'],
  ['chromium', 'chromium'],
  ['redis-server', 'redis-server'],
  ['openssl', 'openssl'],
  ['envsubst', 'gettext-base'],
  ['promtool', 'prometheus'], // alert rule unit tests; the stack's Prometheus
];
if (process.env.PARLEY_SKIP_IMAGE_TESTS !== '1') needed.push(['podman', 'podman'], ['runc', 'runc'], ['debootstrap', 'debootstrap']);
const missing = needed.filter(([cmd]) => !has(cmd) && !existsSync(`/usr/sbin/${cmd}`)).map(([, pkg]) => pkg);
// Fonts for the browser tests and screenshots: without a colour emoji font, reactions render as boxes.
if (!existsSync('/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf')) missing.push('fonts-noto-color-emoji');
if (missing.length) {
  step(`installing ${missing.join(', ')} (Debian packages)`);
  const isRoot = process.getuid?.() === 0;
  const apt = (args) => spawnSync(isRoot ? 'apt-get' : 'sudo', isRoot ? args : ['apt-get', ...args], {
    stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', '--no-install-recommends', ...missing, 'fonts-dejavu-core']).status !== 0) {
    process.stderr.write(`Could not install ${missing.join(', ')}. Install them with: apt-get install -y ${missing.join(' ')}\n`);
    process.exit(1);
  }
}

// ---- services the tests share ---------------------------------------------------------------------
step('checking PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379)');
if (!process.env.TEST_PG_URL && !(await portOpen(5432))) {
  if (has('pg_ctlcluster') && existsSync('/etc/postgresql')) {
    const version = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
  if (!(await portOpen(5432))) {
    process.stderr.write('PostgreSQL is not answering on 127.0.0.1:5432 and could not be started. Start one with trust auth for user postgres, or set TEST_PG_URL.\n');
    process.exit(1);
  }
}
if (!process.env.TEST_REDIS_URL && !(await portOpen(6379))) {
  mkdirSync('.tmp', { recursive: true });
  spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '.tmp'], { stdio: 'inherit' });
  await new Promise((r) => setTimeout(r, 500));
  if (!(await portOpen(6379))) {
    process.stderr.write('Redis is not answering on 127.0.0.1:6379 and could not be started (apt-get install redis-server), or set TEST_REDIS_URL.\n');
    process.exit(1);
  }
}

// ---- static checks and build ----------------------------------------------------------------------
step('type-check (tsc -b: server, browser and e2e configs, strict)');
// --force: the up-to-date shortcut of `tsc -b` looks at our sources only, not at node_modules.
run('npx', ['tsc', '-b', '--force']);
step('lint (eslint)');
run('npx', ['eslint', '.', '--max-warnings', '0']);
step('build');
run('node', ['scripts/build.mjs']);

// ---- tests ----------------------------------------------------------------------------------------
step('tests (vitest projects: unit, integration, e2e, deploy)');
mkdirSync('.tmp', { recursive: true });
// Under `npm test` a missing prerequisite (podman, a Node 24 binary) fails the run instead of being
// skipped; running vitest directly (the inner loop) skips with a printed reason.
const env = { ...process.env, PARLEY_REQUIRE_ALL: process.env.PARLEY_REQUIRE_ALL ?? '1' };
const result = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=.tmp/vitest.json', ...process.argv.slice(2)], { stdio: 'inherit', env });
const projectOf = (file) => (file.endsWith('.int.spec.ts') ? 'integration' : /\/(e2e|bench)\//.test(file) ? 'e2e' : file.includes('/deploy/tests/') ? 'deploy' : 'unit');
let printed = false;
try {
  const report = JSON.parse(readFileSync('.tmp/vitest.json', 'utf8'));
  const projects = {};
  for (const file of report.testResults ?? []) {
    const p = (projects[projectOf(file.name)] ??= { passed: 0, failed: 0, skipped: 0 });
    const results = file.assertionResults ?? [];
    for (const a of results) {
      if (a.status === 'passed') p.passed++;
      else if (a.status === 'failed') p.failed++;
      else p.skipped++;
    }
    // A file that fails before its tests run (e.g. in beforeAll) counts as one failure.
    if (file.status === 'failed' && !results.some((a) => a.status === 'failed')) p.failed++;
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  process.stdout.write('\n');
  for (const name of ['unit', 'integration', 'e2e', 'deploy']) {
    const p = projects[name];
    if (!p) continue;
    for (const k of Object.keys(total)) total[k] += p[k];
    process.stdout.write(`${name.padEnd(12)} ${p.passed} passed, ${p.failed} failed, ${p.skipped} skipped\n`);
  }
  process.stdout.write(`${'all'.padEnd(12)} ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  printed = true;
} catch {
  // no report: the runner itself failed; its exit status says so
}
if (!printed) process.stderr.write('no test report was written (see the output above)\n');
process.exit(result.status ?? 1);
