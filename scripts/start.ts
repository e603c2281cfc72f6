// `npm start`: the whole system on one machine, no Docker. Without DATABASE_URL it runs an embedded
// real Postgres with its data under .data/ (kept across restarts). It migrates, makes sure an admin
// account exists, starts admin and chat as separate processes, prints where to go, and stops all of
// it on Ctrl-C. Service logs are JSON lines on stdout; the launcher's own lines are plain text on stderr.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { keptServiceSecrets, serviceEnv, startEmbeddedPostgres, spawnService, waitForHttp, type Deployment, type EmbeddedPg, type ServiceProcess, type ServiceSecrets } from '@parley/devtools';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dataDir = resolve(root, process.env.PARLEY_DATA_DIR ?? '.data');
const say = (line: string) => process.stderr.write(`[parley] ${line}\n`);
const fail = (line: string): never => {
  say(line);
  process.exit(1);
};

const portOf = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a TCP port number (1-65535), got ${JSON.stringify(raw)}`);
  return n;
};
const adminPort = portOf('ADMIN_PORT', 3000);
const chatPort = portOf('CHAT_PORT', 3001);
const pgPort = portOf('PARLEY_EMBEDDED_PG_PORT', 54329);

mkdirSync(dataDir, { recursive: true });

/** Local secrets, generated once and kept in .data/ (never committed); the environment's win. */
function localSecrets(): ServiceSecrets {
  const saved = keptServiceSecrets(resolve(dataDir, 'secrets.json'));
  return {
    INTERNAL_TOKEN: process.env.INTERNAL_TOKEN || saved.INTERNAL_TOKEN,
    CHAT_TOKEN_SECRET: process.env.CHAT_TOKEN_SECRET || saved.CHAT_TOKEN_SECRET,
    SESSION_SECRET: process.env.SESSION_SECRET || saved.SESSION_SECRET,
  };
}

/** The first admin: from PARLEY_ADMIN_EMAIL/PASSWORD, or generated once and saved in .data/. */
function adminCredentials(): { email: string; password: string; generated: boolean; file: string } {
  const file = resolve(dataDir, 'initial-admin.json');
  if (process.env.PARLEY_ADMIN_EMAIL && process.env.PARLEY_ADMIN_PASSWORD) {
    return { email: process.env.PARLEY_ADMIN_EMAIL, password: process.env.PARLEY_ADMIN_PASSWORD, generated: false, file };
  }
  if (existsSync(file)) return { ...(JSON.parse(readFileSync(file, 'utf8')) as { email: string; password: string }), generated: false, file };
  const creds = { email: 'admin@parley.local', password: randomBytes(12).toString('base64url') };
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return { ...creds, generated: true, file };
}

let embedded: EmbeddedPg | null = null;
const services: ServiceProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  say('stopping…');
  await Promise.all(services.map((s) => s.stop('SIGTERM', 15_000)));
  if (embedded) await embedded.stop().catch((err: Error) => say(`embedded Postgres did not stop cleanly: ${err.message}`));
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function main() {
  const secrets = localSecrets();
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    say(`starting embedded PostgreSQL on 127.0.0.1:${pgPort} (data in ${dataDir}/postgres)…`);
    try {
      embedded = await startEmbeddedPostgres({ dataDir: resolve(dataDir, 'postgres'), port: pgPort });
    } catch (err) {
      fail(`could not start embedded PostgreSQL on port ${pgPort}: ${(err as Error).message}. ` +
        'Is another Parley still running? Set PARLEY_EMBEDDED_PG_PORT to use another port, or DATABASE_URL to use your own Postgres.');
    }
    databaseUrl = embedded!.url;
  }
  const redisUrl = process.env.REDIS_URL ?? '';
  const admin = adminCredentials();
  const deployment: Deployment = {
    nodeEnv: process.env.NODE_ENV ?? 'development',
    logLevel: process.env.LOG_LEVEL ?? 'info',
    databaseUrl,
    redisUrl: redisUrl || undefined,
    publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${adminPort}`,
    secrets,
    host: '127.0.0.1',
  };

  say('applying database migrations…');
  // A local run should not wait long for a database that is not there; Kubernetes keeps the 30 s default.
  // A DB_CONNECT_TIMEOUT_MS of the launcher's environment is passed on as it is.
  const connectTimeoutMs = process.env.DB_CONNECT_TIMEOUT_MS === undefined ? 10_000 : undefined;
  const migrateEnv = { ...process.env, ...serviceEnv(deployment, { service: 'migrate', connectTimeoutMs }) };
  const migrate = spawnSync(process.execPath, [resolve(root, 'packages/db/dist/migrate.js')], { env: migrateEnv, stdio: 'inherit' });
  if (migrate.status !== 0) await stopAll(1);

  const adminSvc = spawnService('admin', resolve(root, 'apps/admin/dist/main.js'), serviceEnv(deployment, {
    service: 'admin',
    port: adminPort,
    chatInternalUrl: `http://127.0.0.1:${chatPort}`,
    chatPublicUrl: process.env.CHAT_PUBLIC_URL ?? `ws://localhost:${chatPort}/socket`,
    firstAdmin: admin,
  }), { echo: (line) => process.stdout.write(`${line}\n`) });
  const chatSvc = spawnService('chat', resolve(root, 'apps/chat/dist/main.js'), serviceEnv(deployment, {
    service: 'chat',
    port: chatPort,
    replicaId: 'chat-local',
    allowedOrigins: [`http://127.0.0.1:${adminPort}`],
    drainDelayMs: 0,
  }), { echo: (line) => process.stdout.write(`${line}\n`) });
  services.push(adminSvc, chatSvc);
  for (const svc of services) {
    void svc.exited.then((code) => {
      if (!stopping) {
        say(`${svc.name} exited unexpectedly (code ${code}); stopping everything`);
        void stopAll(1);
      }
    });
  }

  try {
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, { timeoutMs: 60_000 }),
      waitForHttp(`http://127.0.0.1:${chatPort}/readyz`, { timeoutMs: 60_000 }),
    ]);
  } catch (err) {
    say(`services did not become ready: ${(err as Error).message}`);
    await stopAll(1);
  }
  const lines = [
    '',
    `Parley is running: http://localhost:${adminPort}`,
    `  chat WebSocket:  ws://localhost:${chatPort}/socket`,
    `  database:        ${embedded ? `embedded PostgreSQL (data in ${dataDir}/postgres, port ${pgPort})` : 'DATABASE_URL'}`,
    `  sessions:        ${redisUrl ? 'Redis (REDIS_URL)' : 'PostgreSQL (embedded mode)'}`,
    `  admin login:     ${admin.email}`,
    admin.generated || process.env.PARLEY_ADMIN_PASSWORD
      ? `  admin password:  ${admin.password}${admin.generated ? '  (generated now; also saved in .data/initial-admin.json)' : ''}`
      : `  admin password:  in .data/initial-admin.json`,
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

void main().catch(async (err) => {
  say(`start failed: ${(err as Error).message}`);
  await stopAll(1);
});
