// Conformance: the built apps started the way the rendered manifests start them. The environment is
// resolved from the local overlay's Deployment like the kubelet does (ConfigMap/Secret refs with the
// committed example secrets, fieldRef, $(VAR) expansion), the command is the image's CMD (from the
// Dockerfile) or the Job's command, and the probes' paths must answer on the declared ports. Only
// DATABASE_URL/REDIS_URL (test database, shared Redis with a prefix) and the port number (a free one in
// place of the container port, which must be what PORT says) differ from a cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, dependencyEnv, dropRedisPrefix, freePort, listenEnv, spawnService, testRedisPrefix, waitForHttp, TEST_PG_URL, TEST_REDIS_URL, type ServiceProcess, type TestDatabase } from '@parley/devtools';
import { kustomize, resolveEnv, ROOT, scratchCopy, type K8sObject } from './support/manifests.ts';
import { appImageCmd } from './support/dockerfile.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
let objects: K8sObject[] = [];
let db: TestDatabase;
const prefix = testRedisPrefix('conformance');
const running: ServiceProcess[] = [];

beforeAll(async () => {
  const scratch = scratchCopy();
  try {
    objects = kustomize(join(scratch.dir, 'k8s/overlays/local')).objects;
  } finally {
    scratch.cleanup();
  }
  db = await createTestDatabase('conformance');
});
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGTERM', 15_000)));
  await db?.drop();
  await dropRedisPrefix(prefix).catch(() => undefined);
});

function imageCmd(app: string): string[] {
  return appImageCmd(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), app);
}

describe.each(['admin', 'chat'])('%s as its rendered Deployment runs it', (app) => {
  it('answers its readiness and liveness probes on the declared port', async () => {
    const dep = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === app)!;
    const podName = `${app}-7c9d8f6b5-x2x4z`;
    const c = dep.spec.template.spec.containers[0];
    const env = resolveEnv(c, objects, { 'metadata.name': podName, 'metadata.namespace': 'parley' });
    const command = c.command ?? imageCmd(app).slice(0, 1);
    const args = c.args ?? (c.command ? [] : imageCmd(app).slice(1));
    expect(command).toEqual(['node']);

    const declared = new Map<string, number>((c.ports ?? []).map((p: any) => [p.name, p.containerPort]));
    const portOf = (probe: any) => (typeof probe.httpGet.port === 'string' ? declared.get(probe.httpGet.port) : probe.httpGet.port);
    const readyPort = portOf(c.readinessProbe);
    const livePort = portOf(c.livenessProbe);
    expect(readyPort).toBeDefined();
    expect(livePort).toBe(readyPort);
    expect(Number(env.PORT ?? 8080), 'the app listens where the probes look').toBe(readyPort);

    const local = await freePort();
    // The manifest's environment, with the launchers' own builders for the parts that differ here.
    const proc = spawnService(app, join(ROOT, args.at(-1)), {
      ...env,
      ...listenEnv(local, '127.0.0.1'),
      ...dependencyEnv({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix: prefix }),
    }, { cwd: ROOT });
    running.push(proc);
    expect(args.slice(0, -1)).toEqual(['--enable-source-maps']); // spawnService adds the same flag
    try {
      await waitForHttp(`http://127.0.0.1:${local}${c.readinessProbe.httpGet.path}`, { timeoutMs: 30_000 });
      await waitForHttp(`http://127.0.0.1:${local}${c.livenessProbe.httpGet.path}`, { timeoutMs: 5_000 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${proc.output.slice(-30).join('\n')}`);
    }
    // A probe pointed at a path the app does not serve would fail: the check above can fail.
    expect((await fetch(`http://127.0.0.1:${local}${c.readinessProbe.httpGet.path}-typo`)).status).toBe(404);
    if (app === 'chat') {
      const stats = await fetch(`http://127.0.0.1:${local}/internal/stats`, { headers: { 'x-internal-token': env.INTERNAL_TOKEN! } });
      expect(stats.status).toBe(200);
      expect(JSON.stringify(await stats.json())).toContain(podName); // REPLICA_ID from the pod name
    }
    const code = await proc.stop('SIGTERM', 20_000);
    expect(code, 'exits cleanly on SIGTERM within the grace period').toBe(0);
  }, 60_000);
});

describe('migration Job', () => {
  it('its command migrates an empty database with the Job\'s environment', async () => {
    const job = objects.find((o) => o.kind === 'Job')!;
    const c = job.spec.template.spec.containers[0];
    const env = resolveEnv(c, objects, {});
    const name = `parley_conf_job_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const u = new URL(TEST_PG_URL);
      u.pathname = `/${name}`;
      const [cmd, ...rest] = c.command as string[];
      expect(cmd).toBe('node');
      const r = spawnSync(process.execPath, rest.map((a) => join(ROOT, a)), { env: { PATH: process.env.PATH, ...env, DATABASE_URL: u.toString() }, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const check = new pg.Client({ connectionString: u.toString() });
      await check.connect();
      const { rows } = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      await check.end();
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
