// The scale-out scenario of `npm run bench` (`--only scale-out`): 4 chat replicas on one Redis, each
// serving rooms of its own (one sender socket per room, also receiving its room), in its own database.
// Per replica it measures CPU (utime+stime from /proc) in slots:
// - idle: every socket joined, nobody sends (timers, heartbeats, presence announcements);
// - quiet k (one per replica): every replica sends except k: k's CPU above idle is what it spends on
//   rooms it does not serve (with one global channel it receives and decodes every message);
// - all: every replica sends: CPU per message served.
// With BENCH_SCALE_OUT_BASELINE=<chat entry> (e.g. a build of the previous code) a second deployment of
// that build runs beside it (its own Redis prefix, rooms and users), the two taking turns slot by slot.
import { resolve } from 'node:path';
import WebSocket from 'ws';
import type { Pool } from '@parley/db';
import { signChatToken } from '@parley/chat-token';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import { dropRedisPrefix, freePort, randomSecret, randomServiceSecrets, serviceEnv, spawnService, TEST_REDIS_URL, waitForHttp, type ServiceProcess } from '@parley/devtools';
import { createBenchDatabase } from './bench-database.ts';
import { histogramDelta, scrapeChatMetrics } from './chat-metrics.ts';
import { cpuSeconds, median, nowMs } from './common.ts';

export interface ScaleOutSettings {
  replicas: number;
  roomsPerReplica: number;
  /** Messages per second sent into each room while its replica sends. */
  ratePerRoom: number;
  slotSeconds: number;
  /** Times each slot is measured (medians are reported). */
  rounds: number;
  /** Chat entry points to measure: label → path of the built main.js. */
  builds: Record<string, string>;
}

/** Settings from the environment: BENCH_SCALE_OUT_{REPLICAS,ROOMS,RATE,SLOT_SECONDS,ROUNDS,BASELINE}. */
export function scaleOutSettings(quick: boolean, env: NodeJS.ProcessEnv): ScaleOutSettings {
  const int = (name: string, q: number, full: number) => (env[name] ? Number(env[name]) : quick ? q : full);
  const builds: Record<string, string> = {};
  if (env.BENCH_SCALE_OUT_BASELINE) builds.baseline = env.BENCH_SCALE_OUT_BASELINE;
  builds.current = 'apps/chat/dist/main.js';
  return {
    replicas: int('BENCH_SCALE_OUT_REPLICAS', 4, 4),
    roomsPerReplica: int('BENCH_SCALE_OUT_ROOMS', 2, 8),
    ratePerRoom: int('BENCH_SCALE_OUT_RATE', 10, 20),
    slotSeconds: int('BENCH_SCALE_OUT_SLOT_SECONDS', 2, 5),
    rounds: int('BENCH_SCALE_OUT_ROUNDS', 1, 3),
    builds,
  };
}

export interface ReplicaSlot {
  /** CPU seconds per second of wall time. */
  cpu: number;
  /** Messages acked by the replica's own senders per second. */
  sentPerSec: number;
  /** Messages per group commit (the writer's mean batch size in the slot); null if not scraped. */
  batchMean: number | null;
}

export interface ScaleOutBuildResult {
  entry: string;
  /** Per replica, median CPU (s/s) with nobody sending. */
  idleCpu: number[];
  /** Per replica k, median CPU (s/s) while only the other replicas send, and its excess over idle. */
  quietCpu: number[];
  foreignCpu: number[];
  /** Messages/s the other replicas sent meanwhile (what k would decode with one global channel). */
  foreignMsgsPerSec: number[];
  /** Per replica k, CPU µs per foreign message (foreignCpu / foreignMsgsPerSec). */
  foreignUsPerMessage: Array<number | null>;
  /** Per replica, median CPU (s/s) and acked messages/s while everyone sends. */
  allCpu: number[];
  allSentPerSec: number[];
  /** Per replica, median messages per group commit while everyone sends (bigger batches cost less CPU per message). */
  allBatchMean: number[];
}

export type ScaleOutResult = Record<string, ScaleOutBuildResult>;

interface Replica {
  pid: number;
  proc: ServiceProcess;
  port: number;
}

interface Sender {
  ws: WebSocket;
  room: number;
  acked: number;
  next: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function scaleOutScenario(root: string, runId: string, s: ScaleOutSettings, log: (line: string) => void, cleanups: Array<() => unknown>): Promise<ScaleOutResult> {
  const db = await createBenchDatabase(`parley_bench_scale_${runId}`, { migrationsDir: resolve(root, 'packages/db/migrations'), poolMax: 4, applicationName: 'parley-bench', cleanups });
  const builds = Object.entries(s.builds);
  const perBuild = s.replicas * s.roomsPerReplica;
  const firstUser = await insertUsers(db.pool, perBuild * builds.length);
  const rooms: number[] = [];
  for (let i = 0; i < perBuild * builds.length; i++) {
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO rooms (name, kind) VALUES ($1, 'public') RETURNING id`, [`scale-out ${i}`]);
    rooms.push(Number(rows[0]!.id));
  }
  log(`scale-out: ${builds.map(([l]) => l).join(' and ')}: ${s.replicas} replicas × ${s.roomsPerReplica} rooms × ${s.ratePerRoom} msg/s each, ${s.rounds} rounds of ${s.slotSeconds} s slots (builds alternate)`);
  // Every build runs at once (rooms and users of its own, slots alternating), so drifting load on the
  // shared machine hits them alike.
  const deployments: Deployment[] = [];
  try {
    for (const [b, [label, entry]] of builds.entries()) {
      deployments.push(await deploy(root, entry, `${runId}:${label}`, s, db.url, rooms.slice(b * perBuild, (b + 1) * perBuild), firstUser + b * perBuild, cleanups));
    }
    await sleep(2_000); // joins, presence and the replicas' first announcements settle
    for (let round = 0; round < s.rounds; round++) {
      for (const d of deployments) await d.round();
      log(`scale-out: round ${round + 1}/${s.rounds} done`);
    }
    return Object.fromEntries(builds.map(([label, entry], b) => [label, summarize(entry, deployments[b]!)]));
  } finally {
    for (const d of deployments) await d.stop();
    await db.drop();
  }
}

interface Deployment {
  /** One slot of each kind: idle, quiet k for every replica k, all sending. */
  round(): Promise<void>;
  idle: ReplicaSlot[][];
  quiet: ReplicaSlot[][][];
  all: ReplicaSlot[][];
  stop(): Promise<void>;
}

async function deploy(
  root: string, entry: string, id: string, s: ScaleOutSettings, dbUrl: string, rooms: number[], firstUser: number, cleanups: Array<() => unknown>,
): Promise<Deployment> {
  const redisPrefix = `parley-bench:${id}:`;
  const secret = randomSecret();
  const secrets = { ...randomServiceSecrets(), CHAT_TOKEN_SECRET: secret };
  const replicas: Replica[] = [];
  const senders: Sender[][] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const group of senders) for (const sender of group) sender.ws.terminate();
    await Promise.all(replicas.map((r) => r.proc.stop('SIGTERM', 4_000)));
    await dropRedisPrefix(redisPrefix, TEST_REDIS_URL);
  };
  cleanups.push(stop);
  for (let i = 0; i < s.replicas; i++) {
    const port = await freePort();
    const proc = spawnService(`scale-out-${i}`, resolve(root, entry), {
      ...serviceEnv({ nodeEnv: 'production', logLevel: 'warn', databaseUrl: dbUrl, redisUrl: TEST_REDIS_URL, redisPrefix, publicUrl: 'http://localhost:3000', secrets, host: '127.0.0.1' },
        { service: 'chat', port, replicaId: `scale-${id}-${i}`, drainDelayMs: 0, shutdownTimeoutMs: 2000 }),
      SEND_RATE_PER_SEC: '1000000', SEND_BURST: '1000000', DB_POOL_MAX: '4',
    }, { cwd: root });
    replicas.push({ pid: proc.child.pid!, proc, port });
  }
  for (const r of replicas) await waitForHttp(`http://127.0.0.1:${r.port}/readyz`, { timeoutMs: 30_000 });
  for (let i = 0; i < s.replicas; i++) {
    const mine = rooms.slice(i * s.roomsPerReplica, (i + 1) * s.roomsPerReplica);
    senders.push(await Promise.all(mine.map((room, j) => openSender(replicas[i]!.port, room, firstUser + i * s.roomsPerReplica + j, secret))));
  }

  const slot = async (sending: (i: number) => boolean): Promise<ReplicaSlot[]> => {
    const metrics0 = await Promise.all(replicas.map((r) => scrapeChatMetrics(`http://127.0.0.1:${r.port}`)));
    const acked0 = senders.map((g) => g.reduce((n, x) => n + x.acked, 0));
    const cpu0 = replicas.map((r) => cpuSeconds(r.pid));
    const t0 = nowMs();
    const timer = startSending(senders, sending, s.ratePerRoom);
    await sleep(s.slotSeconds * 1000);
    timer.stop();
    const cpu1 = replicas.map((r) => cpuSeconds(r.pid));
    const seconds = (nowMs() - t0) / 1000;
    const acked1 = senders.map((g) => g.reduce((n, x) => n + x.acked, 0));
    const metrics1 = await Promise.all(replicas.map((r) => scrapeChatMetrics(`http://127.0.0.1:${r.port}`)));
    await sleep(500); // the tail of the slot's fan-out lands outside the next slot
    return replicas.map((_, i) => ({
      cpu: (cpu1[i]! - cpu0[i]!) / seconds,
      sentPerSec: (acked1[i]! - acked0[i]!) / seconds,
      batchMean: histogramDelta(metrics0[i]?.parley_chat_write_batch_messages, metrics1[i]?.parley_chat_write_batch_messages)?.mean ?? null,
    }));
  };
  const d: Deployment = {
    idle: [],
    quiet: replicas.map(() => []),
    all: [],
    async round() {
      d.idle.push(await slot(() => false));
      for (let k = 0; k < s.replicas; k++) d.quiet[k]!.push(await slot((i) => i !== k));
      d.all.push(await slot(() => true));
    },
    stop,
  };
  return d;
}

function summarize(entry: string, d: Deployment): ScaleOutBuildResult {
  const med = (xs: number[]) => median(xs) ?? 0;
  const n = d.quiet.length;
  const each = <T>(f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
  const idleCpu = each((i) => med(d.idle.map((x) => x[i]!.cpu)));
  const quietCpu = each((k) => med(d.quiet[k]!.map((x) => x[k]!.cpu)));
  const foreignCpu = quietCpu.map((c, k) => c - idleCpu[k]!);
  const foreignMsgsPerSec = each((k) => med(d.quiet[k]!.map((x) => x.reduce((sum, r, i) => (i === k ? sum : sum + r.sentPerSec), 0))));
  return {
    entry,
    idleCpu,
    quietCpu,
    foreignCpu,
    foreignMsgsPerSec,
    foreignUsPerMessage: foreignCpu.map((c, k) => (foreignMsgsPerSec[k]! > 0 ? (c * 1e6) / foreignMsgsPerSec[k]! : null)),
    allCpu: each((i) => med(d.all.map((x) => x[i]!.cpu))),
    allSentPerSec: each((i) => med(d.all.map((x) => x[i]!.sentPerSec))),
    allBatchMean: each((i) => med(d.all.map((x) => x[i]!.batchMean ?? 0))),
  };
}

/** A socket of its own user that joins one room, sends into it on demand and counts its acks. */
function openSender(port: number, room: number, uid: number, secret: string): Promise<Sender> {
  const token = signChatToken({ uid, sid: `scale-${uid}`, handle: `bench_${uid}`, name: `Bench ${uid}`, role: 'user' }, secret, 3600);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], { perMessageDeflate: false });
  const sender: Sender = { ws, room, acked: 0, next: 0 };
  return new Promise((resolveSender, reject) => {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.startsWith('{"type":"ack"')) sender.acked++;
      else if (text.startsWith('{"type":"hello"')) ws.send(JSON.stringify({ type: 'join', room, sinceSeq: Number.MAX_SAFE_INTEGER, presence: 'diff' }));
      else if (text.startsWith('{"type":"caught_up"')) resolveSender(sender);
      else if (text.startsWith('{"type":"error"')) reject(new Error(`scale-out sender: ${text.slice(0, 200)}`));
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`scale-out sender: HTTP ${res.statusCode}`)));
  });
}

/** Every 20 ms each sending room gets the messages its rate owes (sent, not awaited: acks are counted). */
function startSending(senders: Sender[][], sending: (replica: number) => boolean, ratePerRoom: number): { stop(): void } {
  const body = 'scale-out '.repeat(10);
  const start = nowMs();
  const owed = new Map<Sender, number>();
  const timer = setInterval(() => {
    const due = ((nowMs() - start) / 1000) * ratePerRoom;
    senders.forEach((group, i) => {
      if (!sending(i)) return;
      for (const sender of group) {
        for (let n = owed.get(sender) ?? 0; n < Math.floor(due); n++) {
          sender.ws.send(JSON.stringify({ type: 'send', room: sender.room, clientId: `s${sender.room}-${sender.next++}`, body }));
        }
        owed.set(sender, Math.max(owed.get(sender) ?? 0, Math.floor(due)));
      }
    });
  }, 20);
  return { stop: () => clearInterval(timer) };
}

async function insertUsers(pool: Pool, n: number): Promise<number> {
  const { rows } = await pool.query<{ first: string }>(
    `WITH ins AS (
       INSERT INTO users (email, handle, display_name, password_hash)
       SELECT 'scale_' || g || '@example.test', 'scale_' || g, 'Scale ' || g, 'not-a-password-hash'
       FROM generate_series(1, $1::int) g ORDER BY g
       RETURNING id)
     SELECT min(id) AS first FROM ins`,
    [n],
  );
  return Number(rows[0]!.first);
}

/** The scenario's markdown section. */
export function scaleOutMarkdown(r: ScaleOutResult): string[] {
  const lines: string[] = [];
  const f = (v: number | null, d = 3) => (v === null ? '–' : v.toFixed(d));
  for (const [label, b] of Object.entries(r)) {
    lines.push('', `### Scale-out: ${b.idleCpu.length} replicas, disjoint rooms (${label}: ${b.entry})`, '');
    lines.push('| replica | idle CPU (s/s) | CPU while only the others send (s/s) | on rooms it does not serve (s/s) | foreign msgs/s | µs per foreign msg | CPU all sending (s/s) | its msgs/s | msgs per commit |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    b.idleCpu.forEach((_, i) => {
      lines.push(`| ${i} | ${f(b.idleCpu[i]!)} | ${f(b.quietCpu[i]!)} | ${f(b.foreignCpu[i]!)} | ${f(b.foreignMsgsPerSec[i]!, 0)} | ${f(b.foreignUsPerMessage[i] ?? null, 1)} | ${f(b.allCpu[i]!)} | ${f(b.allSentPerSec[i]!, 0)} | ${f(b.allBatchMean[i]!, 2)} |`);
    });
  }
  return lines;
}
