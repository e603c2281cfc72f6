// The system under test for `npm run chaos`: its own Postgres and Redis (restartable), migrations, and
// the built services (3 chat replicas + admin) as real processes. Every process exit is recorded; an
// exit nobody asked for is a crash. Readiness of every service is sampled the whole time.
import { freePort, startPgServer, startRedisServer, startStack, type PgServer, type RedisServer, type Stack } from '@parley/devtools';
import { createPool, migrate, type Pool } from '@parley/db';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from scripts/chaos (sources) or dist/ (the bundle). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = resolve(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'parley') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json of "parley")');
    dir = up;
  }
}

export interface Crash {
  process: string;
  code: number | null;
  at: number;
  lastLines: string[];
}

export interface ReadySample {
  at: number;
  ready: boolean;
}

export interface Cluster {
  pg: PgServer;
  redis: RedisServer;
  stack: Stack;
  /** A pool of the chaos tool's own (for fixtures, the ban, and the final comparison). */
  pool: Pool;
  crashes: Crash[];
  /** Readiness samples per service name (chat-0.., admin). */
  readiness: Map<string, ReadySample[]>;
  /** Ask a process to exit (the next exit of it is expected). */
  expectExit(name: string): void;
  /** Restart chat replica `index` (after a kill or a SIGTERM). */
  restartChat(index: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(opts: { replicas: number; say: (line: string) => void; chatEnv?: Record<string, string> }): Promise<Cluster> {
  opts.say('starting PostgreSQL and Redis of our own…');
  const pg = await startPgServer({ port: await freePort() });
  const redis = await startRedisServer(await freePort(), { persistent: true });
  const pool = createPool(pg.url, { max: 4, applicationName: 'parley-chaos' });
  const root = repoRoot();
  await migrate(pool, resolve(root, 'packages/db/migrations'));
  opts.say(`starting ${opts.replicas} chat replicas and admin…`);
  const stack = await startStack({
    root,
    databaseUrl: pg.url,
    redisUrl: redis.url,
    redisPrefix: 'chaos:',
    chatReplicas: opts.replicas,
    admin: true,
    adminEnv: { LOG_LEVEL: 'warn' },
    chatEnv: {
      LOG_LEVEL: 'warn',
      SEND_RATE_PER_SEC: '1000',
      SEND_BURST: '1000',
      DRAIN_DELAY_MS: '300',
      SHUTDOWN_TIMEOUT_MS: '5000',
      RECONCILE_MS: '1000',
      ...opts.chatEnv,
    },
  });
  const crashes: Crash[] = [];
  const expected = new Set<string>();
  const watched = new WeakSet<object>();
  let stopping = false;
  const watch = () => {
    const procs = [stack.admin, ...stack.chats.map((c) => c?.process)].filter((p): p is NonNullable<typeof p> => Boolean(p));
    for (const p of procs) {
      if (watched.has(p)) continue;
      watched.add(p);
      void p.exited.then((code) => {
        if (stopping) return;
        if (expected.delete(p.name)) return;
        crashes.push({ process: p.name, code, at: Date.now(), lastLines: p.output.slice(-15) });
        opts.say(`CRASH: ${p.name} exited on its own (code ${code})`);
      });
    }
  };
  watch();

  const readiness = new Map<string, ReadySample[]>();
  const targets = () => [
    ...stack.chats.map((c) => ({ name: `chat-${c.index}`, url: `${c.url}/readyz` })),
    { name: 'admin', url: `${stack.adminUrl}/readyz` },
  ];
  const sampler = setInterval(() => {
    for (const t of targets()) {
      const samples = readiness.get(t.name) ?? [];
      readiness.set(t.name, samples);
      const at = Date.now();
      fetch(t.url, { signal: AbortSignal.timeout(1_000) }).then(
        (res) => {
          void res.body?.cancel();
          samples.push({ at, ready: res.status === 200 });
        },
        () => samples.push({ at, ready: false }),
      );
    }
  }, 250);

  return {
    pg,
    redis,
    stack,
    pool,
    crashes,
    readiness,
    expectExit: (name) => expected.add(name),
    async restartChat(index) {
      await stack.startChat(index);
      watch();
    },
    async stop() {
      stopping = true;
      clearInterval(sampler);
      await stack.stop().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await redis.stop().catch(() => undefined);
      await pg.destroy().catch(() => undefined);
    },
  };
}
