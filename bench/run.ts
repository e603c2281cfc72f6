// `npm run bench`: Parley's chat server against the limit of its stack (a raw `ws` broadcast loop) and
// against the peer users pick (Socket.IO + Redis adapter), all measured in the same run on this
// machine, plus persistence against a one-row-INSERT-per-transaction loop with the same driver (pg).
//
// Every server under test is its own process, measured from /proc (CPU = utime + stime, RSS); load
// comes from forked client processes (bench/dist/client.js) spread over several 127.0.0.x source
// addresses. Results: JSON under bench/results/ and a markdown table on stdout (progress on stderr).
// Environment: BENCH_QUICK=1 (small N, for smoke tests), BENCH_SUBSCRIBERS, BENCH_IDLE_CONNECTIONS,
// BENCH_SCENARIOS, ... (see `config` below and bench/README.md). `--only a,b` on the command line
// (`npm run bench -- --only search`) picks scenarios like BENCH_SCENARIOS.
// The search scenario (bench/search.ts) has its own database of 1,000,000 messages.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import type { Pool } from '@parley/db';
import { signChatToken } from '@parley/chat-token';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import { dropRedisPrefix, freePort, randomSecret, randomServiceSecrets, serviceEnv, spawnService, TEST_REDIS_URL, waitForHttp, type Deployment, type ServiceProcess } from '@parley/devtools';
import {
  type ChildMsg, type ConnectCmd, type ConnectResult, type PersistCmd, type SystemKind,
  broadcastFrame, cpuSeconds, Histogram, markerBody, median, nowMs, quantile, rssBytes, SYSTEM_LABEL,
} from './common.ts';
import { histogramDelta, scrapeChatMetrics, type HistogramDelta } from './chat-metrics.ts';
import { startPgCpuWindow } from './pg-cpu.ts';
import { createBenchDatabase, type BenchDatabase } from './bench-database.ts';
import { searchScenario, type SearchResult } from './search.ts';
import { scaleOutMarkdown, scaleOutScenario, scaleOutSettings, type ScaleOutResult } from './scale-out.ts';
import { PROBE_NODE_OPTIONS, probeServer, socketWrites } from './server-probe.ts';
import { seedPersistHistory } from './persist-history.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const log = (line: string) => process.stderr.write(`[bench ${((nowMs() - T0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T0 = nowMs();

// ---- configuration --------------------------------------------------------------------------------
const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const int = (name: string, quick: number, full: number) => {
  const raw = env[name];
  if (raw === undefined || raw === '') return QUICK ? quick : full;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return Math.floor(n);
};
const FD_LIMIT = 20_000;
/** `--only search,persist`: the scenarios to run (overrides BENCH_SCENARIOS). */
function onlyArgument(): string | null {
  const i = process.argv.indexOf('--only');
  if (i >= 0) return process.argv[i + 1] ?? '';
  return process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? null;
}
const config = {
  quick: QUICK,
  scenarios: (onlyArgument() ?? env.BENCH_SCENARIOS ?? 'idle,broadcast,join,persist,search').split(',').map((s) => s.trim()).filter(Boolean),
  systems: (env.BENCH_SYSTEMS ?? 'ws,sio,parley').split(',').map((s) => s.trim()) as SystemKind[],
  subscribers: int('BENCH_SUBSCRIBERS', 200, 10_000),
  /** Distinct users among Parley's broadcast subscribers (see the presence note in the report). */
  subscriberUsers: int('BENCH_SUBSCRIBER_USERS', 20, 100),
  broadcastRate: int('BENCH_BROADCAST_RATE', 5, 5),
  /** Saturated slots: broadcasts not yet at every subscriber (default: ≈30k deliveries in flight, 3..32). */
  window: int('BENCH_WINDOW', 0, 0),
  /** Interleaved measurement rounds (broadcast saturated, broadcast at a fixed rate, persistence). */
  rounds: int('BENCH_ROUNDS', 2, 5),
  latencyRounds: int('BENCH_LATENCY_ROUNDS', 1, 3),
  persistRounds: int('BENCH_PERSIST_ROUNDS', 2, 3),
  /** Length of one system's measured slot in a round, seconds. */
  slotSeconds: int('BENCH_SLOT_SECONDS', 1, 2),
  // The server process holds one fd per socket plus its own (~30): 20,000 sockets cannot fit under the
  // 20,000 hard limit, so "20k" is measured as 19,800.
  idleConnections: int('BENCH_IDLE_CONNECTIONS', 300, 19_800),
  /** The join scenario's crowd, and (Parley) the small crowd it is compared with in the same run. */
  joinUsers: int('BENCH_JOIN_USERS', 200, 10_000),
  joinBaseUsers: int('BENCH_JOIN_BASE_USERS', 20, 100),
  /** Both crowds arrive at a steady rate over this many seconds (0: as fast as 32 connections in flight allow). */
  joinRampSeconds: int('BENCH_JOIN_RAMP_SECONDS', 2, 20),
  // The issue's configuration: 200 senders over 50 rooms, every message also delivered to its room.
  persistSenders: int('BENCH_PERSIST_SENDERS', 8, 200),
  persistRooms: int('BENCH_PERSIST_ROOMS', 4, 50),
  persistPool: int('BENCH_PERSIST_POOL', 8, 8),
  /** Messages already in the database before the persist scenario (see persist-history.ts). */
  persistHistory: int('BENCH_PERSIST_HISTORY', 2_000, 200_000),
  /** Parley's DB_WRITE_CONCURRENCY (writer lanes); unset: the server's default. */
  persistLanes: env.BENCH_PERSIST_LANES,
  persistWindow: int('BENCH_PERSIST_WINDOW', 4, 4),
  persistRate: int('BENCH_PERSIST_RATE', 500, 5_000),
  persistSec: int('BENCH_PERSIST_SECONDS', 1, 8),
  sourceAddresses: int('BENCH_SOURCE_ADDRESSES', 4, 8),
  connsPerProcess: int('BENCH_CONNS_PER_PROCESS', 7_000, 7_000),
  timeoutMs: int('BENCH_TIMEOUT_MS', 240_000, 570_000),
  searchMessages: int('BENCH_SEARCH_MESSAGES', 20_000, 1_000_000),
  searchRooms: int('BENCH_SEARCH_ROOMS', 100, 1_000),
  searchIterations: int('BENCH_SEARCH_ITERATIONS', 40, 400),
  searchBaselineIterations: int('BENCH_SEARCH_BASELINE_ITERATIONS', 10, 30),
};
const KNOWN_SCENARIOS = ['idle', 'broadcast', 'join', 'persist', 'search', 'scale-out'];
for (const s of config.scenarios) if (!KNOWN_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${JSON.stringify(s)}; expected some of ${KNOWN_SCENARIOS.join(', ')}`);
// Seeding and indexing a million messages takes minutes of its own.
if (!env.BENCH_TIMEOUT_MS && config.scenarios.includes('search')) config.timeoutMs += QUICK ? 60_000 : 480_000;
if (!config.window) config.window = Math.min(32, Math.max(3, Math.ceil(30_000 / Math.max(1, config.subscribers))));
/** Seconds left before the time limit, minus what later scenarios need: rounds stop early when short. */
const budgetLeft = (reserveSec: number) => (config.timeoutMs - (nowMs() - T0)) / 1000 - reserveSec;
const PERSIST_RESERVE_SEC = QUICK ? 10 : 45;
const JOIN_RESERVE_SEC = QUICK ? 5 : 25;
const addresses = Array.from({ length: Math.max(1, config.sourceAddresses) }, (_, i) => `127.0.0.${i + 2}`);
const runId = randomBytes(4).toString('hex');

// ---- cleanup: everything we start is stopped, whatever happens -----------------------------------
const cleanups: Array<() => unknown> = []; // may return a promise: awaited
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup step failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping everything`);
    void cleanup().then(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  log(`time limit ${config.timeoutMs} ms reached (BENCH_TIMEOUT_MS): reporting what was measured, stopping everything`);
  results.errors.push(`stopped at the time limit of ${config.timeoutMs} ms (BENCH_TIMEOUT_MS); the figures above are partial`);
  finish();
  void cleanup().then(() => process.exit(2));
}, config.timeoutMs);
watchdog.unref();

// ---- servers under test ---------------------------------------------------------------------------
interface Server {
  kind: SystemKind;
  proc: ServiceProcess;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

interface Env {
  dbUrl: string;
  redisUrl: string;
  redisPrefix: string;
  secret: string;
}

async function startServer(kind: SystemKind, e: Env, extra: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  // Every server loads the probe (socket writes, heap after GC); BENCH_SERVER_NODE_OPTIONS is diagnostics only
  // (e.g. "--import ./bench/profile-preload.mjs" for a CPU profile): never set by default.
  const diagnostics: Record<string, string> = { NODE_OPTIONS: [PROBE_NODE_OPTIONS, env.BENCH_SERVER_NODE_OPTIONS].filter(Boolean).join(' ') };
  const base: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', ...diagnostics };
  let proc: ServiceProcess;
  let url: string;
  if (kind === 'ws') {
    proc = spawnService('baseline-ws', resolve(ROOT, 'bench/dist/baseline-ws.js'), base, { cwd: ROOT });
    url = `ws://127.0.0.1:${port}/`;
  } else if (kind === 'sio') {
    proc = spawnService('baseline-sio', resolve(ROOT, 'bench/dist/baseline-sio.js'), { ...base, REDIS_URL: e.redisUrl, REDIS_KEY_PREFIX: `${e.redisPrefix}sio` }, { cwd: ROOT });
    url = `ws://127.0.0.1:${port}/socket.io/`;
  } else {
    const deployment: Deployment = {
      nodeEnv: 'production',
      logLevel: 'warn',
      databaseUrl: e.dbUrl,
      redisUrl: e.redisUrl,
      redisPrefix: e.redisPrefix,
      publicUrl: 'http://localhost:3000',
      secrets: { ...randomServiceSecrets(), CHAT_TOKEN_SECRET: e.secret },
      host: '127.0.0.1',
      extra: diagnostics,
    };
    proc = spawnService('parley-chat', resolve(ROOT, 'apps/chat/dist/main.js'), {
      ...serviceEnv(deployment, { service: 'chat', port, replicaId: `bench-${runId}`, drainDelayMs: 0, shutdownTimeoutMs: 2000 }),
      // The bench's connections belong to few users (BENCH_SUBSCRIBER_USERS): lift the per-user socket cap.
      MAX_SOCKETS_PER_USER: '1000000',
      ...extra,
    }, { cwd: ROOT });
    url = `ws://127.0.0.1:${port}/socket`;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await proc.stop('SIGTERM', 4_000);
    // Keep a sample of what the server complained about (JSON log lines at warn or above).
    const seen = new Map<string, number>();
    for (const line of proc.output) {
      const m = /"level":"?(\w+)"?.*?"msg":"([^"]*)"/.exec(line);
      if (m && (/^(warn|error|fatal)$/.test(m[1]!) || Number(m[1]) >= 40)) seen.set(m[2]!, (seen.get(m[2]!) ?? 0) + 1);
      else if (!m && /error/i.test(line)) seen.set(line.slice(0, 200), (seen.get(line.slice(0, 200)) ?? 0) + 1);
    }
    if (seen.size) (results.serverWarnings[`${kind}:${port}`] = Object.fromEntries([...seen].slice(0, 10)));
  };
  cleanups.push(stop);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 30_000 });
  } catch (err) {
    await stop();
    throw new Error(`${kind} server did not become ready: ${(err as Error).message}\n${proc.output.slice(-30).join('\n')}`);
  }
  return { kind, proc, pid: proc.child.pid!, url, stop };
}

// ---- client processes -----------------------------------------------------------------------------
class Worker {
  readonly child: ChildProcess;
  private waiters: Array<{ t: ChildMsg['t']; resolve: (m: ChildMsg) => void }> = [];
  complete = 0;
  onProgress: (() => void) | null = null;
  exited = false;
  /** connections this process holds open */
  open = 0;

  constructor(readonly index: number) {
    this.child = fork(resolve(ROOT, 'bench/dist/client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.on('message', (raw) => {
      const m = raw as ChildMsg;
      if (m.t === 'progress') {
        this.complete = m.complete;
        this.onProgress?.();
        return;
      }
      if (m.t === 'log') return log(`client ${index}: ${m.line}`);
      const i = this.waiters.findIndex((w) => w.t === m.t);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    this.child.once('exit', () => {
      this.exited = true;
    });
    cleanups.push(() => this.kill());
  }

  request<T extends ChildMsg['t']>(msg: Parameters<NonNullable<ChildProcess['send']>>[0], t: T, timeoutMs = 120_000): Promise<Extract<ChildMsg, { t: T }>> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`client ${this.index}: no ${t} reply within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ t, resolve: (m) => { clearTimeout(timer); resolvePromise(m as Extract<ChildMsg, { t: T }>); } });
      this.child.send(msg);
    });
  }

  tell(msg: Parameters<NonNullable<ChildProcess['send']>>[0]): void {
    this.child.send(msg);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await this.request({ cmd: 'close' }, 'closed', 5_000).catch(() => undefined);
    this.kill();
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

interface ClientGroup {
  workers: Worker[];
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
  bytesReceived: number;
  /** Connect-to-ready time of each successful connection (ms). */
  ready: Histogram;
}

function spawnWorkers(n: number): Promise<Worker[]> {
  const workers = Array.from({ length: n }, (_, i) => new Worker(i));
  return Promise.all(workers.map((w) => new Promise<Worker>((res) => {
    w.child.once('message', () => res(w)); // 'ready'
  })));
}

async function connectClients(workers: Worker[], base: Omit<ConnectCmd, 'cmd' | 'count' | 'offset'>, count: number, offset = 0): Promise<ClientGroup> {
  const share = (i: number) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0);
  let off = offset;
  const started = nowMs();
  const results = await Promise.all(workers.map((w, i) => {
    const cmd: ConnectCmd = { cmd: 'connect', ...base, count: share(i), offset: off };
    off += share(i);
    return w.request(cmd, 'connected', 300_000).then((r) => {
      w.open += r.ok;
      return r;
    });
  }));
  const sum = (f: (r: ConnectResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const ready = new Histogram();
  for (const r of results) ready.add(r.hist);
  return { workers, ok: sum((r) => r.ok), failed: sum((r) => r.failed), errors: results.flatMap((r) => r.errors).slice(0, 5), ms: nowMs() - started, bytesReceived: sum((r) => r.bytesReceived), ready };
}

function workerCount(conns: number): number {
  const perProcess = Math.min(config.connsPerProcess, FD_LIMIT - 500);
  return Math.max(Math.ceil(conns / perProcess), conns >= 2_000 ? 2 : 1);
}

// ---- the publisher (one connection, in this process) ---------------------------------------------
class Publisher {
  private errors = 0;
  private readonly sentAt = new Map<number, number>();
  /** Parley only: send -> ack (stored and committed), per broadcast. */
  readonly ackHist = new Histogram();
  private constructor(readonly kind: SystemKind, readonly ws: WebSocket, readonly room: number) {}

  static open(kind: SystemKind, server: Server, room: number, parley?: { secret: string; userId: number }): Promise<Publisher> {
    let url = server.url;
    let protocols: string[] | undefined;
    if (kind === 'parley') {
      const token = signChatToken({ uid: parley!.userId, sid: 'bench-publisher', handle: 'bench_pub', name: 'Bench publisher', role: 'user' }, parley!.secret, 3600);
      protocols = [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
    } else if (kind === 'sio') url += `?EIO=4&transport=websocket&join=${room}`;
    return new Promise((res, rej) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false, localAddress: '127.0.0.1' });
      const pub = new Publisher(kind, ws, room);
      let ready = false;
      const timer = setTimeout(() => rej(new Error(`${kind} publisher did not get ready`)), 15_000);
      const done = () => {
        ready = true;
        clearTimeout(timer);
        res(pub);
      };
      ws.on('error', (err) => (ready ? undefined : rej(err)));
      ws.on('open', () => kind === 'ws' && done());
      ws.on('message', (data: Buffer) => {
        const head = data.toString('latin1', 0, Math.min(data.length, 24));
        if (kind === 'sio') {
          if (head === '2') return ws.send('3');
          if (!ready && head.startsWith('0{')) return ws.send('40');
          if (!ready && head.startsWith('40')) return done();
        } else if (kind === 'parley') {
          if (head.startsWith('{"type":"error"')) pub.errors++;
          if (ready && head.startsWith('{"type":"ack"')) {
            const m = /"clientId":"pub-[0-9a-f]+-(\d+)"/.exec(data.toString('utf8'));
            const at = m ? pub.sentAt.get(Number(m[1])) : undefined;
            if (at !== undefined) {
              pub.ackHist.record(nowMs() - at);
              pub.sentAt.delete(Number(m![1]));
            }
          }
          if (!ready && head.startsWith('{"type":"hello"')) ws.send(JSON.stringify({ type: 'join', room, sinceSeq: Number.MAX_SAFE_INTEGER }));
          if (!ready && head.startsWith('{"type":"caught_up"')) done();
        }
      });
    });
  }

  publish(index: number): void {
    const sentAt = nowMs();
    if (this.kind === 'parley') {
      this.sentAt.set(index, sentAt);
      this.ws.send(JSON.stringify({ type: 'send', room: this.room, clientId: `pub-${runId}-${index}`, body: markerBody(index, sentAt) }));
    } else if (this.kind === 'sio') {
      this.ws.send(`42${JSON.stringify(['bcast', { ...broadcastFrame(index, sentAt), room: this.room }])}`);
    } else {
      this.ws.send(JSON.stringify(broadcastFrame(index, sentAt)));
    }
  }

  get rejected(): number {
    return this.errors;
  }

  close(): void {
    this.ws.terminate();
  }
}

// ---- scenario: idle connections (RSS per connection) ----------------------------------------------
interface IdleResult {
  connections: number;
  failed: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  bytesPerConnection: number | null;
  /** V8 heap growth per added connection, both readings after a forced full GC (bench/server-probe.ts). */
  heapBytesPerConnection: number | null;
  connectSeconds: number;
  connectsPerSecond: number;
  serverCpuUsPerConnect: number | null;
  errors: string[];
}

/** Connect `n` idle connections (200 first as a warm-up) and measure the server's RSS growth. */
async function measureIdle(kind: SystemKind, server: Server, workers: Worker[], n: number, base: Omit<ConnectCmd, 'cmd' | 'count' | 'offset'>): Promise<IdleResult> {
  const warmCount = Math.min(200, Math.max(1, Math.floor(n / 10)));
  const warm = await connectClients([workers[0]!], base, warmCount, 0);
  await sleep(QUICK ? 500 : 1_500);
  const rss0 = await sampleRss(server.pid, 3, QUICK ? 100 : 300);
  const heap0 = await probeServer(server.pid, { gc: true });
  const cpu0 = cpuSeconds(server.pid);
  const rest = await connectClients(workers, base, n - warmCount, warmCount);
  const cpu1 = cpuSeconds(server.pid);
  await sleep(QUICK ? 1_000 : 3_000);
  const rss1 = await sampleRss(server.pid, 5, QUICK ? 100 : 400);
  const heap1 = await probeServer(server.pid, { gc: true });
  const added = rest.ok;
  log(`${kind} idle: ${warm.ok + rest.ok} connected (${warm.failed + rest.failed} failed${rest.errors.length ? `: ${rest.errors[0]}` : ''}) in ${(rest.ms / 1000).toFixed(1)} s; RSS ${(rss0 / 2 ** 20).toFixed(1)} -> ${(rss1 / 2 ** 20).toFixed(1)} MB`);
  return {
    connections: warm.ok + rest.ok,
    failed: warm.failed + rest.failed,
    rssBeforeMB: rss0 / 2 ** 20,
    rssAfterMB: rss1 / 2 ** 20,
    bytesPerConnection: added > 0 ? (rss1 - rss0) / added : null,
    heapBytesPerConnection: added > 0 && heap0 && heap1 ? (heap1.heapUsed - heap0.heapUsed) / added : null,
    connectSeconds: rest.ms / 1000,
    connectsPerSecond: added / (rest.ms / 1000),
    serverCpuUsPerConnect: added > 0 ? ((cpu1 - cpu0) * 1e6) / added : null,
    errors: [...warm.errors, ...rest.errors].slice(0, 5),
  };
}

async function sampleRss(pid: number, n: number, gapMs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i) await sleep(gapMs);
    samples.push(rssBytes(pid));
  }
  return median(samples) ?? 0;
}

// ---- scenario: broadcast fan-out ------------------------------------------------------------------
// All systems keep their subscribers connected at once and are measured in alternating slots
// (ws, sio, parley, ws, ...): the machine is shared and its background load drifts, so interleaving
// gives every system the same conditions, and medians over slots drop the outliers.
interface SaturatedSlot {
  deliveriesPerSec: number;
  serverCpuUsPerDelivery: number | null;
  serverCpuShare: number;
  clientCpuUsPerDelivery: number | null;
  /** Writes to client sockets per delivery (bench/server-probe.ts): below 1 when frames share a write. */
  socketWritesPerDelivery: number | null;
  broadcasts: number;
  lost: number;
}

interface BroadcastResult {
  subscribers: number;
  failed: number;
  subscribeSeconds: number;
  subscribeServerCpuSeconds: number;
  throughput: {
    slots: SaturatedSlot[];
    slotSeconds: number;
    deliveriesPerSecMedian: number | null;
    serverCpuUsPerDeliveryMedian: number | null;
    serverCpuShareMedian: number | null;
    clientCpuUsPerDeliveryMedian: number | null;
    p50Ms: number | null;
    p99Ms: number | null;
    lostDeliveries: number;
  };
  latency: {
    rate: number;
    broadcasts: number;
    /** wall time of the fixed-rate slots, from the first broadcast to the last delivery */
    seconds: number;
    deliveries: number;
    expected: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number;
    timeToLastMedianMs: number | null;
    timeToLastP99Ms: number | null;
    serverCpuUsPerDelivery: number | null;
    serverCpuShare: number;
  };
  publisherErrors: number;
  /** Parley: the publisher's send -> ack (message stored and committed) in the fixed-rate slots */
  publisherAckP50Ms: number | null;
  publisherAckP99Ms: number | null;
  closedCodes: Record<string, number>;
}

let nextIndex = 0;

async function collectStats(workers: Worker[]) {
  const stats = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' }, 'stats', 30_000)));
  const hist = new Histogram();
  for (const s of stats) hist.add(s.hist);
  const len = Math.max(0, ...stats.map((s) => s.perMsgCount.length));
  const count = new Array<number>(len).fill(0);
  const max = new Array<number>(len).fill(0);
  for (const s of stats) {
    s.perMsgCount.forEach((c, i) => { count[i]! += c; });
    s.perMsgMax.forEach((m, i) => { if (m > max[i]!) max[i] = m; });
  }
  const closedCodes: Record<string, number> = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.closedCodes)) closedCodes[k] = (closedCodes[k] ?? 0) + v;
  return { hist, count, max, deliveries: stats.reduce((n, s) => n + s.deliveries, 0), alive: stats.reduce((n, s) => n + s.alive, 0), closedCodes };
}

const workerCpu = (workers: Worker[]) => workers.reduce((n, w) => n + cpuSeconds(w.child.pid!), 0);
const countDeliveries = async (workers: Worker[]) => (await Promise.all(workers.map((w) => w.request({ cmd: 'count' }, 'count', 10_000)))).reduce((n, r) => n + r.deliveries, 0);

interface Session {
  kind: SystemKind;
  server: Server;
  workers: Worker[];
  pub: Publisher | null;
  idle: IdleResult | null;
  subscribers: number;
  failed: number;
  subscribeSeconds: number;
  subscribeServerCpuSeconds: number;
  slots: SaturatedSlot[];
  tpHist: Histogram;
  latHist: Histogram;
  timeToLast: number[];
  latBroadcasts: number;
  latDeliveries: number;
  latExpected: number;
  latCpu: number;
  latSeconds: number;
  closedCodes: Record<string, number>;
}

function startPhase(s: Session, base: number): void {
  for (const w of s.workers) {
    w.complete = base;
    w.onProgress = null;
    w.tell({ cmd: 'phase', base, track: true });
  }
}

const minComplete = (s: Session) => Math.min(...s.workers.map((w) => w.complete));

async function drain(s: Session, upto: number, timeoutMs: number): Promise<void> {
  const until = nowMs() + timeoutMs;
  while (minComplete(s) < upto && nowMs() < until) await sleep(10);
}

/** Saturate one system for `measureMs`: at most `window` broadcasts not yet at every subscriber. */
async function saturatedSlot(s: Session, measureMs: number): Promise<SaturatedSlot> {
  const base = nextIndex;
  startPhase(s, base);
  let sent = 0;
  let sending = true;
  const pump = () => {
    while (sending && base + sent - minComplete(s) < config.window) s.pub!.publish(base + sent++);
  };
  for (const w of s.workers) w.onProgress = pump;
  await sleep(30); // the workers apply the phase before the first broadcast
  pump();
  await sleep(QUICK ? 200 : 400); // ramp-up, not measured
  const snap = async () => ({ t: nowMs(), deliveries: await countDeliveries(s.workers), cpu: cpuSeconds(s.server.pid), clientCpu: workerCpu(s.workers), writes: await socketWrites(s.server.pid) });
  const a = await snap();
  await sleep(measureMs);
  const b = await snap();
  sending = false;
  await drain(s, base + sent, 10_000);
  const stats = await collectStats(s.workers);
  nextIndex = base + sent;
  s.tpHist.add(stats.hist.toSparse());
  const deliveries = b.deliveries - a.deliveries;
  const secs = (b.t - a.t) / 1000;
  return {
    deliveriesPerSec: deliveries / secs,
    serverCpuUsPerDelivery: deliveries ? ((b.cpu - a.cpu) * 1e6) / deliveries : null,
    serverCpuShare: (b.cpu - a.cpu) / secs,
    clientCpuUsPerDelivery: deliveries ? ((b.clientCpu - a.clientCpu) * 1e6) / deliveries : null,
    socketWritesPerDelivery: deliveries && a.writes !== null && b.writes !== null ? (b.writes - a.writes) / deliveries : null,
    broadcasts: sent,
    lost: Math.max(0, sent * stats.alive - stats.deliveries),
  };
}

/** Broadcast at a fixed rate (open loop) for `seconds`, then wait for the last subscriber. */
async function latencySlot(s: Session, seconds: number): Promise<void> {
  const base = nextIndex;
  startPhase(s, base);
  await sleep(30);
  const count = Math.max(1, Math.round(seconds * config.broadcastRate));
  const cpu0 = cpuSeconds(s.server.pid);
  const t0 = nowMs();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / config.broadcastRate - nowMs();
    if (wait > 0) await sleep(wait);
    s.pub!.publish(base + i);
  }
  await drain(s, base + count, 15_000);
  const cpu1 = cpuSeconds(s.server.pid);
  const t1 = nowMs();
  const stats = await collectStats(s.workers);
  nextIndex = base + count;
  s.latHist.add(stats.hist.toSparse());
  for (let i = 0; i < count; i++) if ((stats.count[i] ?? 0) >= stats.alive) s.timeToLast.push(stats.max[i]!);
  s.latBroadcasts += count;
  s.latDeliveries += stats.deliveries;
  s.latExpected += count * stats.alive;
  s.latCpu += cpu1 - cpu0;
  s.latSeconds += (t1 - t0) / 1000;
  for (const [k, v] of Object.entries(stats.closedCodes)) s.closedCodes[k] = v;
}

/**
 * One system under test: its server and client processes. With `idle`, first N idle connections for
 * the memory figure; then (broadcast) the first `subscribers` of them join the room and the rest close.
 * Connections are reused because connecting costs the most time on two shared cores.
 */
async function openSession(kind: SystemKind, e: Env, ids: { firstUser: number; publisher: number; room: number }, opts: { idle: boolean; broadcast: boolean }): Promise<Session> {
  // The publisher is one user sending many messages a second: lift Parley's per-user send rate limit and
  // frame budget (at 20 frames/s, burst 600, the second saturated slot stalled with its sends refused).
  const server = await startServer(kind, e, { SEND_RATE_PER_SEC: '1000000', SEND_BURST: '1000000', FRAME_RATE_PER_SEC: '1000000', FRAME_BURST: '1000000' });
  const n = opts.broadcast ? config.subscribers : 0;
  const idleN = opts.idle ? config.idleConnections : 0;
  const workers = await spawnWorkers(workerCount(Math.max(n, idleN)));
  const session: Session = {
    kind, server, workers, pub: null, idle: null,
    subscribers: 0, failed: 0, subscribeSeconds: 0, subscribeServerCpuSeconds: 0,
    slots: [], tpHist: new Histogram(), latHist: new Histogram(), timeToLast: [],
    latBroadcasts: 0, latDeliveries: 0, latExpected: 0, latCpu: 0, latSeconds: 0, closedCodes: {},
  };
  try {
    // Parley: connections belong to BENCH_SUBSCRIBER_USERS users (memory per connection does not depend
    // on it; presence on join does, see the join scenario).
    const base = { kind, url: server.url, addresses, concurrency: 64, joinRooms: null, parley: { secret: e.secret, firstUserId: ids.firstUser, users: Math.max(1, Math.min(config.subscriberUsers, Math.max(n, 1))) } };
    if (opts.idle) session.idle = await measureIdle(kind, server, workers, idleN, base);
    if (!opts.broadcast) return session;
    const open = workers.reduce((x, w) => x + w.open, 0);
    if (open < n) {
      const more = await connectClients(workers, base, n - open, Math.max(open, idleN));
      session.failed += more.failed;
    } else if (open > n) {
      let remaining = n;
      await Promise.all(workers.map((w, i) => {
        const keep = i === workers.length - 1 ? remaining : Math.min(w.open, Math.round((n * w.open) / open));
        remaining -= keep;
        return w.request({ cmd: 'prune', keep }, 'pruned', 60_000).then((r) => { w.open = r.open; });
      }));
    }
    const cpu0 = cpuSeconds(server.pid);
    const started = nowMs();
    const joined = await Promise.all(workers.map((w) => w.request({ cmd: 'join', rooms: [ids.room], concurrency: 64 }, 'joined', 300_000)));
    session.subscribeSeconds = (nowMs() - started) / 1000;
    session.subscribeServerCpuSeconds = cpuSeconds(server.pid) - cpu0;
    session.subscribers = joined.reduce((x, r) => x + r.ok, 0);
    session.failed += joined.reduce((x, r) => x + r.failed, 0);
    const errors = joined.flatMap((r) => r.errors);
    log(`${kind} broadcast: ${session.subscribers} subscribers joined the room (${session.failed} failed${errors.length ? `: ${errors[0]}` : ''}) in ${session.subscribeSeconds.toFixed(1)} s, server CPU ${session.subscribeServerCpuSeconds.toFixed(1)} s`);
    if (session.subscribers === 0) throw new Error(`no subscriber could join: ${errors.join('; ')}`);
    session.pub = await Publisher.open(kind, server, ids.room, { secret: e.secret, userId: ids.publisher });
    return session;
  } catch (err) {
    await closeSession(session);
    throw err;
  }
}

async function closeSession(s: Session): Promise<void> {
  s.pub?.close();
  await Promise.all(s.workers.map((w) => w.close()));
  await s.server.stop();
}

/**
 * Idle memory, broadcast and join on the same server processes (fewer process starts and connects):
 * each system's idle figure is measured as its session opens; broadcast slots then alternate between
 * the systems; the join scenario runs last, in a fresh room.
 */
async function sessionScenarios(
  e: Env,
  ids: { firstUser: number; publisher: number; room: number; joinRoom: number | null; joinBaseRoom: number | null },
  opts: { idle: boolean; broadcast: boolean },
  onError: (msg: string) => void,
): Promise<{ idle: Partial<Record<SystemKind, IdleResult>>; broadcast: Partial<Record<SystemKind, BroadcastResult>>; join: Partial<Record<SystemKind, JoinResult>>; joinBase: JoinResult | null }> {
  const sessions: Session[] = [];
  const idle: Partial<Record<SystemKind, IdleResult>> = {};
  const out: Partial<Record<SystemKind, BroadcastResult>> = {};
  const join: Partial<Record<SystemKind, JoinResult>> = {};
  let joinBase: JoinResult | null = null;
  try {
    for (const kind of config.systems) {
      try {
        const s = await openSession(kind, e, ids, opts);
        if (s.idle) idle[kind] = s.idle;
        if (opts.broadcast) sessions.push(s);
        else await closeSession(s);
      } catch (err) {
        onError(`${opts.broadcast ? 'broadcast' : 'idle'} ${kind}: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`);
      }
    }
    if (!opts.broadcast) return { idle, broadcast: out, join, joinBase };
    await sleep(QUICK ? 300 : 1_000);
    const measureMs = config.slotSeconds * 1000;
    log(`broadcast: saturated (${config.window} broadcasts in flight), ${config.rounds} rounds × ${config.slotSeconds} s per system, interleaved`);
    const later = JOIN_RESERVE_SEC + PERSIST_RESERVE_SEC;
    let roundSec = 0;
    for (let r = 0; r < config.rounds; r++) {
      if (r > 0 && budgetLeft(later + (QUICK ? 5 : 40)) < roundSec) {
        results.notes.push(`Time budget: saturated broadcast stopped after ${r} of ${config.rounds} rounds.`);
        break;
      }
      const t0 = nowMs();
      for (const s of sessions) {
        const slot = await saturatedSlot(s, measureMs);
        s.slots.push(slot);
        log(`  ${s.kind.padEnd(6)} round ${r + 1}: ${Math.round(slot.deliveriesPerSec)} deliveries/s, ${slot.serverCpuUsPerDelivery?.toFixed(2)} µs server CPU/delivery (${slot.serverCpuShare.toFixed(2)} cores)`);
      }
      roundSec = (nowMs() - t0) / 1000;
    }
    for (const s of sessions) s.pub?.ackHist.reset(); // ack latency: fixed-rate slots only
    log(`broadcast: ${config.broadcastRate} broadcasts/s, ${config.latencyRounds} rounds × ${config.slotSeconds} s per system, interleaved`);
    for (let r = 0; r < config.latencyRounds; r++) {
      if (r > 0 && budgetLeft(later) < roundSec) {
        results.notes.push(`Time budget: fixed-rate broadcast stopped after ${r} of ${config.latencyRounds} rounds.`);
        break;
      }
      const t0 = nowMs();
      for (const s of sessions) await latencySlot(s, config.slotSeconds);
      roundSec = (nowMs() - t0) / 1000;
      log(`  round ${r + 1}: ${sessions.map((s) => `${s.kind} p99 so far ${s.latHist.percentile(99)} ms`).join(', ')}`);
    }
    for (const s of sessions) {
      const slots = s.slots;
      out[s.kind] = {
        subscribers: s.subscribers,
        failed: s.failed,
        subscribeSeconds: s.subscribeSeconds,
        subscribeServerCpuSeconds: s.subscribeServerCpuSeconds,
        throughput: {
          slots,
          slotSeconds: config.slotSeconds,
          deliveriesPerSecMedian: median(slots.map((x) => x.deliveriesPerSec)),
          serverCpuUsPerDeliveryMedian: median(slots.flatMap((x) => (x.serverCpuUsPerDelivery === null ? [] : [x.serverCpuUsPerDelivery]))),
          serverCpuShareMedian: median(slots.map((x) => x.serverCpuShare)),
          clientCpuUsPerDeliveryMedian: median(slots.flatMap((x) => (x.clientCpuUsPerDelivery === null ? [] : [x.clientCpuUsPerDelivery]))),
          p50Ms: s.tpHist.percentile(50),
          p99Ms: s.tpHist.percentile(99),
          lostDeliveries: slots.reduce((n, x) => n + x.lost, 0),
        },
        latency: {
          rate: config.broadcastRate,
          broadcasts: s.latBroadcasts,
          seconds: s.latSeconds,
          deliveries: s.latDeliveries,
          expected: s.latExpected,
          p50Ms: s.latHist.percentile(50),
          p99Ms: s.latHist.percentile(99),
          maxMs: s.latHist.max,
          timeToLastMedianMs: median(s.timeToLast),
          timeToLastP99Ms: quantile(s.timeToLast, 0.99),
          serverCpuUsPerDelivery: s.latDeliveries ? (s.latCpu * 1e6) / s.latDeliveries : null,
          serverCpuShare: s.latSeconds ? s.latCpu / s.latSeconds : 0,
        },
        publisherErrors: s.pub?.rejected ?? 0,
        publisherAckP50Ms: s.pub?.ackHist.percentile(50) ?? null,
        publisherAckP99Ms: s.pub?.ackHist.percentile(99) ?? null,
        closedCodes: s.closedCodes,
      };
      const r = out[s.kind]!;
      log(`${s.kind} broadcast: median ${Math.round(r.throughput.deliveriesPerSecMedian ?? 0)} deliveries/s, ${r.throughput.serverCpuUsPerDeliveryMedian?.toFixed(2)} µs server CPU/delivery; at ${config.broadcastRate}/s p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms`);
    }
    if (ids.joinRoom !== null) {
      // A fresh room on the same servers; the broadcast subscribers sit idle in their own room meanwhile.
      for (const s of sessions) {
        try {
          if (s.kind === 'parley' && ids.joinBaseRoom !== null) joinBase = await joinScenario(s.kind, e, { firstUser: ids.firstUser, room: ids.joinBaseRoom }, config.joinBaseUsers, s.server);
          join[s.kind] = await joinScenario(s.kind, e, { firstUser: ids.firstUser, room: ids.joinRoom }, config.joinUsers, s.server);
        } catch (err) {
          onError(`join ${s.kind}: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`);
        }
      }
    }
    return { idle, broadcast: out, join, joinBase };
  } finally {
    await Promise.all(sessions.map((s) => closeSession(s)));
  }
}

// ---- scenario: a crowd of distinct users joining one room ------------------------------------------
interface JoinResult {
  users: number;
  joined: number;
  failed: number;
  /** From the first arrival until the last user joined (and caught up). */
  seconds: number;
  /** Arrivals were spread over this many seconds (0: as fast as possible). */
  rampSeconds: number;
  /** One user's connect → joined and caught up, ms. */
  readyP50Ms: number | null;
  readyP99Ms: number | null;
  readyMaxMs: number | null;
  serverCpuSeconds: number;
  bytesToClients: number;
  /** sockets closed by the server within 0.5 s after the joins, by close code (4008 = slow consumer) */
  closedByServer: Record<string, number>;
  errors: string[];
}

async function joinScenario(kind: SystemKind, e: Env, ids: { firstUser: number; room: number }, users: number, running?: Server): Promise<JoinResult> {
  const server = running ?? await startServer(kind, e);
  const workers = await spawnWorkers(workerCount(users));
  try {
    const cpu0 = cpuSeconds(server.pid);
    const group = await connectClients(workers, {
      kind, url: server.url, addresses, concurrency: config.joinRampSeconds ? 2_000 : 32, joinRooms: [ids.room],
      parley: { secret: e.secret, firstUserId: ids.firstUser, users },
      ...(config.joinRampSeconds ? { rampMs: config.joinRampSeconds * 1000, total: users } : {}),
    }, users);
    // Presence frames are still being written after the last join completes: let them land.
    await sleep(QUICK ? 500 : 1_500);
    const cpu1 = cpuSeconds(server.pid);
    const all = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' }, 'stats', 30_000)));
    const closedByServer: Record<string, number> = {};
    for (const st of all) for (const [code, n] of Object.entries(st.closedCodes)) closedByServer[code] = (closedByServer[code] ?? 0) + n;
    const bytesToClients = all.reduce((n, st) => n + st.bytesReceived, 0);
    const r: JoinResult = {
      users, joined: group.ok, failed: group.failed, seconds: group.ms / 1000, rampSeconds: config.joinRampSeconds,
      readyP50Ms: group.ready.percentile(50), readyP99Ms: group.ready.percentile(99), readyMaxMs: group.ready.total ? group.ready.max : null,
      serverCpuSeconds: cpu1 - cpu0, bytesToClients, closedByServer, errors: group.errors.slice(0, 5),
    };
    const closed = Object.values(r.closedByServer).reduce((n, v) => n + v, 0);
    log(`${kind} join: ${r.joined}/${r.users} distinct users joined one room in ${r.seconds.toFixed(2)} s (arrivals over ${r.rampSeconds} s; one join p50 ${fmt(r.readyP50Ms)} ms, p99 ${fmt(r.readyP99Ms)} ms), server CPU ${r.serverCpuSeconds.toFixed(2)} s, ${(r.bytesToClients / 2 ** 20).toFixed(1)} MB to clients${closed ? `, then ${closed} closed by the server ${JSON.stringify(r.closedByServer)}` : ''}`);
    return r;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    if (!running) await server.stop();
  }
}

// ---- scenario: persistence -------------------------------------------------------------------------
// Parley's senders and the one-row-per-transaction loops alternate in rounds, like the broadcast slots.
let insertSeq = 0;
const INSERT_APP = 'parley-bench-insert';
const INSERT_ONE_ROW = {
  name: 'bench-insert-one-row',
  text: 'INSERT INTO bench_insert (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)',
};

interface InsertSlot {
  rowsPerSec: number;
  rows: number;
  /** CPU of the loop's Postgres backends per row (µs) */
  pgCpuUsPerRow: number | null;
}

/** A *prepared* one-row INSERT per transaction on `clients` for `seconds`: the cheapest way to store
 * one row durably at a time (parsed and planned once per connection, one round trip, one commit). */
async function insertSlot(pool: Pool, clients: pg.Client[], seconds: number): Promise<InsertSlot> {
  let rows = 0;
  const endPg = await startPgCpuWindow(pool, [INSERT_APP]);
  const start = nowMs();
  const until = start + seconds * 1000;
  await Promise.all(clients.map(async (c) => {
    while (nowMs() < until) {
      // Autocommit: every INSERT is its own transaction and waits for its own commit (WAL flush).
      const i = ++insertSeq;
      await c.query({ ...INSERT_ONE_ROW, values: [1, i, 1, `ins-${i}`, `one row per transaction ${'p'.repeat(48)}`] });
      rows++;
    }
  }));
  const elapsed = (nowMs() - start) / 1000;
  const pgCpu = await endPg();
  return { rowsPerSec: rows / elapsed, rows, pgCpuUsPerRow: rows ? (pgCpu.backendSeconds * 1e6) / rows : null };
}

interface PersistRun {
  mode: 'window' | 'rate';
  offeredRate: number | null;
  sent: number;
  acked: number;
  unacked: number;
  ackedPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number;
  errors: Record<string, number>;
  serverCpuUsPerMessage: number | null;
  /** CPU seconds in the window (send + drain): the chat process, its Postgres backends, the shared WAL writer etc. */
  chatCpuSeconds: number;
  pgCpuSeconds: number;
  pgSharedCpuSeconds: number;
  pgCpuUsPerMessage: number | null;
  /** deliveries of the stored messages to their rooms' members, and what the clients received for them */
  deliveries: number;
  bytesReceived: number;
  wireBytesReceived: number;
  framesReceived: number;
  bytesPerDelivery: number | null;
  /** Writes to client sockets per frame they received (acks and deliveries; bench/server-probe.ts). */
  socketWritesPerFrame?: number | null;
  /** group commit in the window, from chat's /metrics: messages per transaction, transaction seconds */
  batchSize: HistogramDelta | null;
  commitSeconds: HistogramDelta | null;
}

interface PersistResultAll {
  senders: number;
  rooms: number;
  pool: number;
  window: PersistRun & { ackedPerSecSlots: number[]; ackedPerSecMedian: number | null };
  rate: PersistRun;
  storedRows: number;
  ackedButNotStored: number;
  baseline1: Baseline;
  baselinePool: Baseline;
  /** Parley / prepared-loop-on-the-pool per round (the same round's slots), and their median */
  ratioSlots: number[];
  ratioMedian: number | null;
}

interface Baseline {
  connections: number;
  prepared: true;
  rowsPerSecSlots: number[];
  rowsPerSecMedian: number | null;
  pgCpuUsPerRow: number | null;
}

function baseline(connections: number, slots: InsertSlot[]): Baseline {
  const rows = slots.reduce((n, x) => n + x.rows, 0);
  const cpuUs = slots.reduce((n, x) => n + (x.pgCpuUsPerRow ?? 0) * x.rows, 0);
  return { connections, prepared: true, rowsPerSecSlots: slots.map((x) => x.rowsPerSec), rowsPerSecMedian: median(slots.map((x) => x.rowsPerSec)), pgCpuUsPerRow: rows ? cpuUs / rows : null };
}

async function persistScenario(e: Env, pool: Pool, ids: { firstUser: number; rooms: number[] }): Promise<PersistResultAll> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_insert (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING IDENTITY)');
  await seedPersistHistory(pool, ids.firstUser, config.persistSenders, config.persistHistory);
  const clients: pg.Client[] = [];
  cleanups.push(() => Promise.all(clients.map((c) => c.end().catch(() => undefined))));
  for (let i = 0; i < config.persistPool; i++) {
    const c = new pg.Client({ connectionString: e.dbUrl, application_name: 'parley-bench-insert' });
    await c.connect();
    clients.push(c);
  }
  const server = await startServer('parley', e, {
    DB_POOL_MAX: String(config.persistPool), SEND_RATE_PER_SEC: '1000000', SEND_BURST: '1000000',
    ...(config.persistLanes ? { DB_WRITE_CONCURRENCY: config.persistLanes } : {}),
  });
  const workers = await spawnWorkers(1);
  try {
    const group = await connectClients(workers, {
      kind: 'parley', url: server.url, addresses, concurrency: 32, joinRooms: ids.rooms,
      parley: { secret: e.secret, firstUserId: ids.firstUser, users: config.persistSenders },
    }, config.persistSenders);
    if (!group.ok) throw new Error(`no sender could connect: ${group.errors.join('; ')}`);
    const run = async (mode: 'window' | 'rate', seconds: number): Promise<PersistRun> => {
      const cmd: PersistCmd = { cmd: 'persist', mode, durationMs: seconds * 1000, window: config.persistWindow, rate: config.persistRate, drainMs: 10_000, tag: `${mode[0]}${runId}${nextIndex++}` };
      const httpBase = server.url.replace(/^ws/, 'http').replace(/\/socket$/, '');
      const m0 = await scrapeChatMetrics(httpBase);
      const endPg = await startPgCpuWindow(pool, ['parley-chat', 'parley-chat-control']);
      const cpu0 = cpuSeconds(server.pid);
      const writes0 = await socketWrites(server.pid);
      const r = await workers[0]!.request(cmd, 'persist', seconds * 1000 + 30_000);
      const cpu1 = cpuSeconds(server.pid);
      const writes1 = await socketWrites(server.pid);
      const pgCpu = await endPg();
      const m1 = await scrapeChatMetrics(httpBase);
      const hist = new Histogram();
      hist.add(r.hist);
      return {
        mode,
        offeredRate: mode === 'rate' ? config.persistRate : null,
        sent: r.sent,
        acked: r.acked,
        unacked: r.unacked,
        ackedPerSec: r.ackedInWindow / (r.sendMs / 1000),
        p50Ms: hist.percentile(50),
        p99Ms: hist.percentile(99),
        maxMs: hist.max,
        errors: r.errors,
        serverCpuUsPerMessage: r.acked ? ((cpu1 - cpu0) * 1e6) / r.acked : null,
        chatCpuSeconds: cpu1 - cpu0,
        pgCpuSeconds: pgCpu.backendSeconds,
        pgSharedCpuSeconds: pgCpu.sharedSeconds,
        pgCpuUsPerMessage: r.acked ? (pgCpu.backendSeconds * 1e6) / r.acked : null,
        deliveries: r.deliveries,
        bytesReceived: r.bytesReceived,
        wireBytesReceived: r.wireBytesReceived,
        framesReceived: r.framesReceived,
        bytesPerDelivery: r.deliveries ? r.wireBytesReceived / r.deliveries : null,
        socketWritesPerFrame: r.framesReceived && writes0 !== null && writes1 !== null ? (writes1 - writes0) / r.framesReceived : null,
        batchSize: histogramDelta(m0?.parley_chat_write_batch_messages, m1?.parley_chat_write_batch_messages),
        commitSeconds: histogramDelta(m0?.parley_chat_write_commit_seconds, m1?.parley_chat_write_commit_seconds),
      };
    };
    log(`persistence: ${config.persistRounds} rounds of [one-row-INSERT-per-transaction on 1 and ${config.persistPool} connections, Parley ${group.ok} senders × ${config.persistWindow} in flight], ${config.slotSeconds} s each`);
    const b1: InsertSlot[] = [];
    const bp: InsertSlot[] = [];
    const windowRuns: PersistRun[] = [];
    for (let r = 0; r < config.persistRounds; r++) {
      if (r > 0 && budgetLeft(config.persistSec + 15) < config.slotSeconds * 3 + 5) {
        results.notes.push(`Time budget: persistence stopped after ${r} of ${config.persistRounds} rounds.`);
        break;
      }
      b1.push(await insertSlot(pool, clients.slice(0, 1), config.slotSeconds));
      bp.push(await insertSlot(pool, clients, config.slotSeconds));
      windowRuns.push(await run('window', config.slotSeconds));
      const w = windowRuns[windowRuns.length - 1]!;
      log(`  round ${r + 1}: prepared one-row-per-tx ${Math.round(b1[r]!.rowsPerSec)} rows/s (1 conn), ${Math.round(bp[r]!.rowsPerSec)} rows/s (${config.persistPool}, Postgres ${fmt(bp[r]!.pgCpuUsPerRow)} µs/row); Parley ${Math.round(w.ackedPerSec)} msgs/s, p99 ack ${w.p99Ms} ms, chat ${fmt(w.serverCpuUsPerMessage)} µs/msg, batches ${w.batchSize?.count ?? '–'} of ${fmt(w.batchSize?.mean)} msgs (${fmt((w.commitSeconds?.mean ?? NaN) * 1000)} ms each) ${JSON.stringify(w.batchSize?.buckets.filter(([, n]) => n > 0) ?? [])}, Postgres ${fmt(w.pgCpuUsPerMessage)} µs/msg, ${fmt(w.bytesPerDelivery)} B/delivery, ${fmt(w.socketWritesPerFrame, 3)} socket writes/frame`);
    }
    const errors: Record<string, number> = {};
    let cpuUs = 0;
    for (const w of windowRuns) {
      for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
      cpuUs += (w.serverCpuUsPerMessage ?? 0) * w.acked;
    }
    const sum = (f: (w: PersistRun) => number) => windowRuns.reduce((n, w) => n + f(w), 0);
    const acked = sum((w) => w.acked);
    const deliveries = sum((w) => w.deliveries);
    const windowAgg: PersistResultAll['window'] = {
      mode: 'window' as const,
      offeredRate: null,
      sent: sum((w) => w.sent),
      acked: sum((w) => w.acked),
      unacked: sum((w) => w.unacked),
      ackedPerSec: sum((w) => w.ackedPerSec) / windowRuns.length,
      ackedPerSecSlots: windowRuns.map((w) => w.ackedPerSec),
      ackedPerSecMedian: median(windowRuns.map((w) => w.ackedPerSec)),
      p50Ms: median(windowRuns.flatMap((w) => (w.p50Ms === null ? [] : [w.p50Ms]))),
      p99Ms: median(windowRuns.flatMap((w) => (w.p99Ms === null ? [] : [w.p99Ms]))),
      maxMs: Math.max(0, ...windowRuns.map((w) => w.maxMs)),
      errors,
      serverCpuUsPerMessage: acked ? cpuUs / acked : null,
      chatCpuSeconds: sum((w) => w.chatCpuSeconds),
      pgCpuSeconds: sum((w) => w.pgCpuSeconds),
      pgSharedCpuSeconds: sum((w) => w.pgSharedCpuSeconds),
      pgCpuUsPerMessage: acked ? (sum((w) => w.pgCpuSeconds) * 1e6) / acked : null,
      deliveries,
      bytesReceived: sum((w) => w.bytesReceived),
      wireBytesReceived: sum((w) => w.wireBytesReceived),
      framesReceived: sum((w) => w.framesReceived),
      bytesPerDelivery: deliveries ? sum((w) => w.wireBytesReceived) / deliveries : null,
      batchSize: windowRuns[windowRuns.length - 1]?.batchSize ?? null,
      commitSeconds: windowRuns[windowRuns.length - 1]?.commitSeconds ?? null,
    };
    const ratioSlots = windowRuns.map((w, i) => ratio(w.ackedPerSec, bp[i]?.rowsPerSec) ?? NaN).filter((v) => Number.isFinite(v));
    await sleep(300);
    const rateRun = await run('rate', config.persistSec);
    log(`parley persistence at ${config.persistRate} msgs/s offered: ${Math.round(rateRun.ackedPerSec)} acked/s, p50 ${rateRun.p50Ms} ms, p99 ${rateRun.p99Ms} ms, ${rateRun.unacked} unacked, errors ${JSON.stringify(rateRun.errors)}`);
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE room_id = ANY($1::bigint[])', [ids.rooms]);
    const storedRows = Number(rows[0]!.n);
    return {
      senders: group.ok,
      rooms: ids.rooms.length,
      pool: config.persistPool,
      window: windowAgg,
      rate: rateRun,
      storedRows,
      ackedButNotStored: Math.max(0, windowAgg.acked + rateRun.acked - storedRows),
      baseline1: baseline(1, b1),
      baselinePool: baseline(config.persistPool, bp),
      ratioSlots,
      ratioMedian: median(ratioSlots),
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await server.stop();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

// ---- database and fixtures ------------------------------------------------------------------------
async function setupDatabase(): Promise<BenchDatabase> {
  return createBenchDatabase(`parley_bench_${runId}`, { migrationsDir: resolve(ROOT, 'packages/db/migrations'), poolMax: 4, applicationName: 'parley-bench', cleanups });
}

async function insertUsers(pool: Pool, n: number): Promise<number> {
  const { rows } = await pool.query<{ first: string; last: string; n: string }>(
    `WITH ins AS (
       INSERT INTO users (email, handle, display_name, password_hash)
       SELECT 'bench_' || g || '@example.test', 'bench_' || g, 'Bench ' || g, 'not-a-password-hash'
       FROM generate_series(1, $1::int) g ORDER BY g
       RETURNING id)
     SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM ins`,
    [n],
  );
  const first = Number(rows[0]!.first);
  if (Number(rows[0]!.last) - first + 1 !== n) throw new Error('user ids are not contiguous');
  return first;
}

async function insertRoom(pool: Pool, name: string): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO rooms (name, kind) VALUES ($1, 'public') RETURNING id`, [name]);
  return Number(rows[0]!.id);
}

// ---- report ---------------------------------------------------------------------------------------
type Results = {
  meta: Record<string, unknown>;
  config: typeof config;
  idle: Partial<Record<SystemKind, IdleResult>>;
  broadcast: Partial<Record<SystemKind, BroadcastResult>>;
  join: Partial<Record<SystemKind, JoinResult>>;
  /** Parley's small crowd (BENCH_JOIN_BASE_USERS) joining a room of its own in the same run. */
  joinBase: JoinResult | null;
  persist: PersistResultAll | null;
  search: SearchResult | null;
  scaleOut?: ScaleOutResult | null;
  ratios: Record<string, number | null>;
  targets: Array<{ name: string; measured: number | null; target: string; met: boolean | null }>;
  notes: string[];
  errors: string[];
  /** warn/error log messages of each server process (message -> count), for the report */
  serverWarnings: Record<string, Record<string, number>>;
};

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b !== 0 ? a / b : null);
const fmt = (v: number | null | undefined, digits = 1) => (v == null || !Number.isFinite(v) ? '–' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits));
const fx = (v: number | null | undefined) => (v == null ? '–' : `${v > 0 && v < 0.1 ? v.toPrecision(2) : v.toFixed(2)}×`);

function computeTargets(r: Results): void {
  const b = r.broadcast;
  const cpu = (k: SystemKind) => b[k]?.throughput.serverCpuUsPerDeliveryMedian ?? null;
  const rate = (k: SystemKind) => b[k]?.throughput.deliveriesPerSecMedian ?? null;
  const p99 = (k: SystemKind) => b[k]?.latency.p99Ms ?? null;
  const mem = (k: SystemKind) => r.idle[k]?.bytesPerConnection ?? null;
  r.ratios = {
    cpuPerDeliveryVsWs: ratio(cpu('parley'), cpu('ws')),
    cpuPerDeliveryVsSio: ratio(cpu('parley'), cpu('sio')),
    deliveriesPerSecVsWs: ratio(rate('parley'), rate('ws')),
    deliveriesPerSecVsSio: ratio(rate('parley'), rate('sio')),
    p99VsWs: ratio(p99('parley'), p99('ws')),
    p99VsSio: ratio(p99('parley'), p99('sio')),
    idleBytesVsWs: ratio(mem('parley'), mem('ws')),
    idleBytesVsSio: ratio(mem('parley'), mem('sio')),
    joinCpuVsWs: ratio(r.join.parley?.serverCpuSeconds, r.join.ws?.serverCpuSeconds),
    joinCpuVsSio: ratio(r.join.parley?.serverCpuSeconds, r.join.sio?.serverCpuSeconds),
    joinSecondsVsBase: ratio(r.join.parley?.seconds, r.joinBase?.seconds),
    // Median of the per-round ratios: each round's Parley slot against the same round's prepared loop.
    persistVsOneRowPerTx: r.persist?.ratioMedian ?? null,
    searchRareP99VsIlike: ratio(r.search?.cases.rare.p99Ms, r.search?.cases.rare.baseline?.p99Ms),
  };
  const t = (name: string, measured: number | null, target: string, ok: (v: number) => boolean) => r.targets.push({ name, measured, target, met: measured == null ? null : ok(measured) });
  // The goals are issue 13's (docs/scaling.md uses the same figures).
  t('broadcast server CPU/delivery vs raw ws', r.ratios.cpuPerDeliveryVsWs ?? null, '≤ 1.1×', (v) => v <= 1.1);
  t('broadcast server CPU/delivery vs Socket.IO', r.ratios.cpuPerDeliveryVsSio ?? null, '≤ 0.6×', (v) => v <= 0.6);
  t('deliveries/s vs raw ws', r.ratios.deliveriesPerSecVsWs ?? null, '≥ 0.95×', (v) => v >= 0.95);
  t(`p99 at ${config.broadcastRate} broadcasts/s vs raw ws`, r.ratios.p99VsWs ?? null, '≤ 1.3×', (v) => v <= 1.3);
  t(`persisted msgs/s vs a prepared one-row INSERT per transaction on ${config.persistPool} connections`, r.ratios.persistVsOneRowPerTx ?? null, '≥ 2×', (v) => v >= 2);
  t('p99 ack at that throughput (ms)', r.persist?.window.p99Ms ?? null, '≤ 100 ms', (v) => v <= 100);
  t(`p99 ack at ${config.persistRate} msgs/s offered (ms)`, r.persist?.rate.p99Ms ?? null, '≤ 25 ms', (v) => v <= 25);
  t('chat CPU per stored message, ack + deliveries included (µs)', r.persist?.window.serverCpuUsPerMessage ?? null, '≤ 40 µs', (v) => v <= 40);
  t('Postgres CPU per stored message, its backends (µs)', r.persist?.window.pgCpuUsPerMessage ?? null, '≤ 25 µs', (v) => v <= 25);
  t(`search p99, rare words, ${fmt(config.searchMessages, 0)} messages (ms)`, r.search?.cases.rare.p99Ms ?? null, '≤ 50 ms', (v) => v <= 50);
  const joinFailures = r.join.parley && r.joinBase ? r.join.parley.failed + r.joinBase.failed : null;
  t(`${fmt(config.joinUsers, 0)} distinct users join one room: time vs ${fmt(config.joinBaseUsers, 0)} users`, joinFailures === 0 ? r.ratios.joinSecondsVsBase ?? null : null, '≤ 2×, 0 failures', (v) => v <= 2);
  t('idle RSS/connection vs raw ws', r.ratios.idleBytesVsWs ?? null, '≤ 1.3×', (v) => v <= 1.3);
  t('connection set-up server CPU vs raw ws', ratio(r.idle.parley?.serverCpuUsPerConnect, r.idle.ws?.serverCpuUsPerConnect), '≤ 1.5×', (v) => v <= 1.5);
}

function markdown(r: Results): string {
  const sys: SystemKind[] = ['parley', 'ws', 'sio'];
  const lines: string[] = [];
  const row = (cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(`## Parley benchmark (${config.quick ? 'quick mode' : 'full'}; ${String(r.meta.cpus)} cores; load generator on the same machine)`, '');
  if (Object.keys(r.broadcast).length + Object.keys(r.idle).length + Object.keys(r.join).length) {
    row(['metric', ...sys.map((k) => SYSTEM_LABEL[k]), 'Parley / raw ws', 'Parley / Socket.IO']);
    row(['---', '---:', '---:', '---:', '---:', '---:']);
  }
  const metric = (name: string, get: (k: SystemKind) => number | null | undefined, digits = 1) => {
    const v = (k: SystemKind) => get(k) ?? null;
    row([name, ...sys.map((k) => fmt(v(k), digits)), fx(ratio(v('parley'), v('ws'))), fx(ratio(v('parley'), v('sio')))]);
  };
  const b = r.broadcast;
  const n = b.parley?.subscribers ?? b.ws?.subscribers ?? config.subscribers;
  if (Object.keys(b).length) {
    metric(`broadcast to ${fmt(n, 0)} subscribers: server CPU µs per delivery (median of ${b.parley?.throughput.slots.length ?? config.rounds} saturated slots)`, (k) => b[k]?.throughput.serverCpuUsPerDeliveryMedian, 2);
    metric('deliveries/s, saturated (median of slots)', (k) => b[k]?.throughput.deliveriesPerSecMedian, 0);
    metric('server CPU share while saturated (cores, median)', (k) => b[k]?.throughput.serverCpuShareMedian, 2);
    metric('client CPU µs per delivery (load generator, median)', (k) => b[k]?.throughput.clientCpuUsPerDeliveryMedian, 2);
    metric('server socket writes per delivery, saturated (median of slots)', (k) => median((b[k]?.throughput.slots ?? []).flatMap((x) => (x.socketWritesPerDelivery === null ? [] : [x.socketWritesPerDelivery]))), 3);
    metric('p50 latency saturated (ms)', (k) => b[k]?.throughput.p50Ms);
    metric('p99 latency saturated (ms)', (k) => b[k]?.throughput.p99Ms);
    metric(`p50 latency at ${config.broadcastRate} broadcasts/s (ms)`, (k) => b[k]?.latency.p50Ms);
    metric(`p99 latency at ${config.broadcastRate} broadcasts/s (ms)`, (k) => b[k]?.latency.p99Ms);
    metric(`time to last subscriber at ${config.broadcastRate}/s, median (ms)`, (k) => b[k]?.latency.timeToLastMedianMs);
    metric(`server CPU µs per delivery at ${config.broadcastRate}/s`, (k) => b[k]?.latency.serverCpuUsPerDelivery, 2);
    metric(`server CPU share at ${config.broadcastRate}/s (cores)`, (k) => b[k]?.latency.serverCpuShare, 2);
    metric(`Parley publisher at ${config.broadcastRate}/s: send → ack (stored, committed) p50 (ms)`, (k) => b[k]?.publisherAckP50Ms);
    metric(`Parley publisher at ${config.broadcastRate}/s: send → ack p99 (ms)`, (k) => b[k]?.publisherAckP99Ms);
    metric('deliveries lost (saturated + fixed rate)', (k) => (b[k] ? b[k].throughput.lostDeliveries + Math.max(0, b[k].latency.expected - b[k].latency.deliveries) : null), 0);
    metric(`${fmt(n, 0)} open connections join the room: seconds`, (k) => b[k]?.subscribeSeconds, 2);
    metric(`${fmt(n, 0)} open connections join the room: server CPU (s)`, (k) => b[k]?.subscribeServerCpuSeconds, 2);
  }
  const idle = r.idle;
  if (Object.keys(idle).length) {
    const c = idle.parley?.connections ?? idle.ws?.connections ?? config.idleConnections;
    metric(`RSS per idle connection at ${fmt(c, 0)} connections (KB)`, (k) => (idle[k]?.bytesPerConnection ?? null) !== null ? idle[k]!.bytesPerConnection! / 1024 : null, 2);
    metric('server CPU µs per connection set-up', (k) => idle[k]?.serverCpuUsPerConnect, 0);
    metric('V8 heap per idle connection after forced GC (KB)', (k) => (idle[k]?.heapBytesPerConnection ?? null) !== null ? idle[k]!.heapBytesPerConnection! / 1024 : null, 2);
  }
  const j = r.join;
  if (Object.keys(j).length) {
    metric(`${fmt(config.joinUsers, 0)} distinct users join one room: seconds to all joined`, (k) => j[k]?.seconds, 2);
    metric(`${fmt(config.joinUsers, 0)} distinct users join one room: failed joins`, (k) => (j[k] ? j[k].failed : null), 0);
    metric(`${fmt(config.joinUsers, 0)} distinct users join one room: one user's connect → caught up p99 (ms)`, (k) => j[k]?.readyP99Ms, 0);
    metric(`${config.joinUsers} distinct users join one room: server CPU (s)`, (k) => j[k]?.serverCpuSeconds, 2);
    metric(`${config.joinUsers} distinct users join one room: bytes to clients (MB)`, (k) => (j[k] ? j[k].bytesToClients / 2 ** 20 : null), 2);
    metric(`${config.joinUsers} distinct users join one room: sockets then closed by the server`, (k) => (j[k] ? Object.values(j[k].closedByServer).reduce((n, v) => n + v, 0) : null), 0);
    const base = r.joinBase;
    if (base && j.parley) {
      lines.push('', `Parley join, same run and server, arrivals spread over ${base.rampSeconds} s: ${fmt(base.users, 0)} distinct users all joined after ${base.seconds.toFixed(2)} s (${base.failed} failed; one join p50/p99 ${fmt(base.readyP50Ms)}/${fmt(base.readyP99Ms)} ms), ${fmt(j.parley.users, 0)} after ${j.parley.seconds.toFixed(2)} s (${j.parley.failed} failed; p50/p99 ${fmt(j.parley.readyP50Ms)}/${fmt(j.parley.readyP99Ms)} ms): ${fx(r.ratios.joinSecondsVsBase)} the time.`);
    }
  }
  const p = r.persist;
  if (p) {
    lines.push('', `### Persistence (${p.senders} senders over ${p.rooms} rooms; Parley DB pool ${p.pool}; acked after COMMIT)`, '');
    row(['metric', 'value', `vs prepared one-row-per-tx on ${p.pool} conns`, 'target', 'met']);
    row(['---', '---:', '---:', '---', '---']);
    const base = p.baselinePool.rowsPerSecMedian;
    const met = (v: number | null, ok: (x: number) => boolean) => (v == null ? 'not measured' : ok(v) ? 'yes' : 'NO');
    const w = p.window;
    row([`Parley persisted msgs/s, ${p.senders} senders × ${config.persistWindow} in flight (median of ${w.ackedPerSecSlots.length} slots; ratio = median of per-round ratios)`, fmt(w.ackedPerSecMedian, 0), fx(p.ratioMedian), '≥ 2×', met(p.ratioMedian, (v) => v >= 2)]);
    row(['  p50 / p99 ack latency at that load (ms, median of slots)', `${fmt(w.p50Ms)} / ${fmt(w.p99Ms)}`, '', 'p99 ≤ 100 ms', met(w.p99Ms, (v) => v <= 100)]);
    row(['  chat CPU per stored message, ack + deliveries included (µs)', fmt(w.serverCpuUsPerMessage), '', '≤ 40 µs', met(w.serverCpuUsPerMessage, (v) => v <= 40)]);
    row(['  Postgres CPU per stored message: chat\'s backends (µs)', fmt(w.pgCpuUsPerMessage), '', '≤ 25 µs', met(w.pgCpuUsPerMessage, (v) => v <= 25)]);
    row(['  Postgres WAL writer + checkpointer + bgwriter per stored message (µs; whole shared server)', fmt(w.acked ? (w.pgSharedCpuSeconds * 1e6) / w.acked : null), '', '', '']);
    row([`  deliveries per stored message; bytes to clients per delivery (payload + WS header; acks included)`, `${fmt(w.acked ? w.deliveries / w.acked : null, 2)}; ${fmt(w.bytesPerDelivery, 0)}`, '', '', '']);
    row([`Parley at ${fmt(config.persistRate, 0)} msgs/s offered for ${config.persistSec} s: acked msgs/s`, fmt(p.rate.ackedPerSec, 0), fx(ratio(p.rate.ackedPerSec, base)), '', '']);
    row([`  p50 / p99 ack latency at ${fmt(config.persistRate, 0)} msgs/s offered (ms)`, `${fmt(p.rate.p50Ms)} / ${fmt(p.rate.p99Ms)}`, '', 'p99 ≤ 25 ms', met(p.rate.p99Ms, (v) => v <= 25)]);
    row(['  chat / Postgres CPU per stored message at that rate (µs)', `${fmt(p.rate.serverCpuUsPerMessage)} / ${fmt(p.rate.pgCpuUsPerMessage)}`, '', '', '']);
    const bs = (x: PersistRun) => `${fmt(x.batchSize?.mean)} msgs in ${fmt((x.commitSeconds?.mean ?? NaN) * 1000)} ms`;
    row(['group commit: mean batch, mean transaction time (last throughput slot; at the offered rate)', `${bs(w)}; ${bs(p.rate)}`, '', '', '']);
    row(['  unacked after a 10 s drain / error frames', `${p.rate.unacked + w.unacked} / ${JSON.stringify({ ...w.errors, ...p.rate.errors })}`, '', '', '']);
    row([`prepared one-row INSERT per transaction (pg), 1 connection: rows/s (median of ${p.baseline1.rowsPerSecSlots.length} slots)`, fmt(p.baseline1.rowsPerSecMedian, 0), fx(ratio(p.baseline1.rowsPerSecMedian, base)), '', '']);
    row([`prepared one-row INSERT per transaction (pg), ${p.pool} connections: rows/s (median of ${p.baselinePool.rowsPerSecSlots.length} slots)`, fmt(base, 0), '1.00×', '', '']);
    row(['  its Postgres CPU per row (µs)', fmt(p.baselinePool.pgCpuUsPerRow), '', '', '']);
    row(['acked but not in the database', String(p.ackedButNotStored), '', '', '']);
  }
  if (r.scaleOut) lines.push(...scaleOutMarkdown(r.scaleOut));
  const sr = r.search;
  if (sr) {
    lines.push('', `### Search (${fmt(sr.messages, 0)} messages in ${fmt(sr.rooms, 0)} rooms; seeded in ${fmt(sr.seedSeconds)} s, GIN index built in ${fmt(sr.indexSeconds)} s, ${fmt(sr.indexBytes / 2 ** 20)} MB for a ${fmt(sr.tableBytes / 2 ** 20)} MB table)`, '');
    row(['query', 'full-text p50 (ms)', 'full-text p99 (ms)', `ILIKE '%word%' p50 (ms)`, 'ILIKE p99 (ms)', 'p99 full-text / ILIKE', 'hits on page 1 (median)']);
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']);
    const labels = { common: 'common word (ranks 6–15)', rare: 'rare word (last fifth of the vocabulary)', from: 'from:@author + common word' } as const;
    for (const key of ['common', 'rare', 'from'] as const) {
      const c = sr.cases[key];
      row([`${labels[key]} (${c.count} / ${c.baseline?.count ?? 0} queries)`, fmt(c.p50Ms, 2), fmt(c.p99Ms, 2), fmt(c.baseline?.p50Ms, 2), fmt(c.baseline?.p99Ms, 2), fx(ratio(c.p99Ms, c.baseline?.p99Ms)), fmt(c.hitsMedian, 0)]);
    }
  }
  lines.push('', '### Targets', '');
  row(['target', 'measured', 'goal', 'met']);
  row(['---', '---:', '---', '---']);
  for (const t of r.targets) row([t.name, /\((ms|µs)\)$/.test(t.name) ? fmt(t.measured) : fx(t.measured), t.target, t.met === null ? 'not measured' : t.met ? 'yes' : 'NO']);
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  if (r.errors.length) lines.push('', '### Errors', '', ...r.errors.map((e) => `- ${e}`));
  return lines.join('\n');
}

// ---- main -----------------------------------------------------------------------------------------
const results: Results = {
  meta: {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    loadavgStart: loadavg(),
    gitCommit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || null,
    sourceAddresses: addresses,
  },
  config,
  idle: {},
  broadcast: {},
  join: {},
  joinBase: null,
  persist: null,
  search: null,
  ratios: {},
  targets: [],
  notes: [],
  errors: [],
  serverWarnings: {},
};

/** Compute ratios and targets, write the JSON, print the table (also for a partial run). */
function finish(): void {
  results.meta.loadavgEnd = loadavg();
  results.meta.totalSeconds = (nowMs() - T0) / 1000;
  results.targets = [];
  computeTargets(results);
  const out = env.BENCH_OUT ?? resolve(ROOT, 'bench/results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${config.quick ? '-quick' : ''}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown(results)}\n\nResults: ${out}\n`);
}

/** The search scenario in its own database; a failure is reported, not thrown. */
async function runSearch(): Promise<SearchResult | null> {
  try {
    return await searchScenario(ROOT, runId, {
      messages: config.searchMessages,
      rooms: config.searchRooms,
      users: QUICK ? 200 : 2_000,
      vocabulary: QUICK ? 5_000 : 50_000,
      iterations: config.searchIterations,
      baselineIterations: config.searchBaselineIterations,
    }, log, cleanups);
  } catch (err) {
    const msg = `search: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`;
    log(`FAILED ${msg}`);
    results.errors.push(msg);
    return null;
  }
}

/** The scale-out scenario (bench/scale-out.ts) in its own database; a failure is reported, not thrown. */
async function runScaleOut(): Promise<ScaleOutResult | null> {
  try {
    return await scaleOutScenario(ROOT, runId, scaleOutSettings(QUICK, env), log, cleanups);
  } catch (err) {
    results.errors.push(`scale-out: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`);
    log(`FAILED scale-out: ${(err as Error).message}`);
    return null;
  }
}

async function main(): Promise<number> {
  if (config.idleConnections > FD_LIMIT - 150) {
    results.notes.push(`BENCH_IDLE_CONNECTIONS=${config.idleConnections} is above what one server process can hold under the ${FD_LIMIT} open-file limit; expect failures.`);
  }
  log(`run ${runId}: ${config.quick ? 'QUICK mode' : 'full mode'}; scenarios ${config.scenarios.join(', ')}; systems ${config.systems.join(', ')}`);

  if (config.scenarios.every((s) => s === 'search' || s === 'scale-out')) {
    if (config.scenarios.includes('search')) results.search = await runSearch();
    if (config.scenarios.includes('scale-out')) results.scaleOut = await runScaleOut();
    finish();
    log(`done in ${((nowMs() - T0) / 1000).toFixed(1)} s`);
    return results.errors.length ? 1 : 0;
  }
  const db = await setupDatabase();
  const redisPrefix = `parley-bench:${runId}:`;
  cleanups.push(() => dropRedisPrefix(redisPrefix, TEST_REDIS_URL));
  const e: Env = { dbUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix, secret: randomSecret() };
  const userCount = Math.max(config.idleConnections, config.subscriberUsers, config.joinUsers, config.persistSenders) + 1;
  const firstUser = await insertUsers(db.pool, userCount);
  const publisherUser = firstUser + userCount - 1;
  const broadcastRoom = await insertRoom(db.pool, 'bench broadcast');
  const persistRooms: number[] = [];
  for (let i = 0; i < Math.max(1, config.persistRooms); i++) persistRooms.push(await insertRoom(db.pool, `bench persist ${i}`));
  log(`database ${db.url.replace(/\/\/[^@]*@/, '//')}: ${userCount} users, ${persistRooms.length + 1} rooms`);

  const attempt = async <T>(label: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      const msg = `${label}: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      log(`FAILED ${msg}`);
      results.errors.push(msg);
      return null;
    }
  };

  const wantIdle = config.scenarios.includes('idle');
  const wantBroadcast = config.scenarios.includes('broadcast');
  if (wantIdle || wantBroadcast) {
    const joinRoom = wantBroadcast && config.scenarios.includes('join') ? await insertRoom(db.pool, `bench join ${runId}`) : null;
    const joinBaseRoom = joinRoom !== null ? await insertRoom(db.pool, `bench join base ${runId}`) : null;
    const r = await attempt('sessions', () => sessionScenarios(e, { firstUser, publisher: publisherUser, room: broadcastRoom, joinRoom, joinBaseRoom }, { idle: wantIdle, broadcast: wantBroadcast }, (msg) => {
      log(`FAILED ${msg}`);
      results.errors.push(msg);
    }));
    if (r) {
      results.idle = r.idle;
      results.broadcast = r.broadcast;
      results.join = r.join;
      results.joinBase = r.joinBase;
    }
  }
  if (!wantBroadcast && config.scenarios.includes('join')) {
    for (const kind of config.systems) {
      if (kind === 'parley') {
        // The small crowd first, on the same server, in a room of its own: the baseline of the ratio.
        const baseRoom = await insertRoom(db.pool, `bench join base ${runId}`);
        const room = await insertRoom(db.pool, `bench join ${runId}`);
        await attempt('join parley', async () => {
          const server = await startServer(kind, e);
          try {
            results.joinBase = await joinScenario(kind, e, { firstUser, room: baseRoom }, config.joinBaseUsers, server);
            results.join.parley = await joinScenario(kind, e, { firstUser, room }, config.joinUsers, server);
          } finally {
            await server.stop();
          }
        });
        continue;
      }
      const r = await attempt(`join ${kind}`, () => joinScenario(kind, e, { firstUser, room: broadcastRoom }, config.joinUsers));
      if (r) results.join[kind] = r;
    }
  }
  if (config.scenarios.includes('persist') && config.systems.includes('parley') && budgetLeft(0) < (QUICK ? 10 : 30)) {
    results.errors.push('persist: skipped, not enough time left before BENCH_TIMEOUT_MS');
  } else if (config.scenarios.includes('persist') && config.systems.includes('parley')) {
    results.persist = await attempt('persist', () => persistScenario(e, db.pool, { firstUser, rooms: persistRooms }));
  }

  if (config.scenarios.includes('search')) results.search = await runSearch();
  if (config.scenarios.includes('scale-out')) results.scaleOut = await runScaleOut();

  // Kept up = the last subscriber got the last broadcast soon after it was sent; a backlog shows as slots
  // that last much longer than their sending time.
  const behind = (Object.entries(results.broadcast) as Array<[SystemKind, BroadcastResult]>).filter(([, b]) => b.latency.seconds > 1.25 * (b.latency.broadcasts / config.broadcastRate) + 0.3);
  if (behind.length) {
    results.notes.push(`At ${config.broadcastRate} broadcasts/s (${fmt(config.broadcastRate * config.subscribers, 0)} deliveries/s offered) ${behind.map(([k]) => SYSTEM_LABEL[k]).join(', ')} could not keep up on this machine in this run (their fixed-rate slots lasted over 1.25× their sending time): their latency there is mostly queueing, which magnifies small differences in cost per delivery.`);
  }
  results.notes.push(
    `Server CPU = utime+stime of the server process from /proc over the measured interval; the client processes share the same ${cpus().length} cores, so deliveries/s is bounded by the load generator (see client CPU per delivery) and server CPU per delivery is the fairest comparison.`,
    `Parley's broadcast subscribers are ${fmt(config.subscribers, 0)} connections of ${Math.min(config.subscriberUsers, config.subscribers)} distinct users (BENCH_SUBSCRIBER_USERS). Presence: the bench clients join with \`presence: 'diff'\` (as the web client does): one snapshot per joiner, then coalesced per-room diffs, counts only above 100 online; the join rows measure a crowd of ${fmt(config.joinUsers, 0)} distinct users against ${fmt(config.joinBaseUsers, 0)} in the same run.`,
    'Parley broadcasts are real messages: stored in Postgres (ack after commit), fanned out through Redis, then delivered; the baselines deliver the same bytes with no auth or storage (raw ws) or through Socket.IO rooms with the Redis adapter.',
    `Idle RSS per connection = (RSS after all connections − RSS after a warm-up of ≤200) / added connections, medians of /proc samples; Parley connections are authenticated (signed token + users.status check at upgrade), in no room, and belong to ${Math.min(config.subscriberUsers, config.subscribers)} users (Parley keeps no per-user state for a connection outside rooms). The first ${fmt(config.subscribers, 0)} of them then join the broadcast room; the rest are closed.`,
    `Broadcast slots alternate between the systems (${config.rounds} saturated rounds × ${config.slotSeconds} s with ${config.window} broadcasts in flight, then ${config.latencyRounds} rounds × ${config.slotSeconds} s at ${config.broadcastRate}/s), so drifting background load on the shared machine hits all systems alike; figures are medians over slots, latency percentiles over all deliveries.`,
  );
  finish();
  log(`done in ${((nowMs() - T0) / 1000).toFixed(1)} s`);
  return results.errors.length ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (err) => {
    log(`failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    process.exit(1);
  });
