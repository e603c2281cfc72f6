// One chaos run: start the cluster, connect the fleet, send steadily while the schedule breaks things,
// then let every client settle and compare everything with Postgres.
import { recordControlEvent, withTransaction } from '@parley/db';
import { chatTokenFor, createChatRoom, createChatUser } from '../../packages/devtools/src/chat-fixtures.ts';
import { TestSocket } from '../../e2e/support/ws-client.ts';
import { startCluster, type Cluster, type Crash } from './cluster.ts';
import { FleetClient } from './clients.ts';
import { verifyMessages, type MessageVerdict } from './verify.ts';

export const STEPS = ['netcut', 'kill9', 'rolling', 'redis', 'pg-restart', 'pg-stop'] as const;
export type Step = (typeof STEPS)[number];

export interface ChaosOptions {
  clients: number;
  durationMs: number;
  /** Messages per second per client. */
  rate: number;
  replicas: number;
  steps: Step[];
  breakIdempotency: boolean;
  /** Control events must apply on every replica within this bound. */
  controlBoundMs: number;
}

export interface ControlVerdict {
  event: string;
  /** Per replica: delay from COMMIT to the socket's close, and the close code (null: never closed). */
  replicas: Array<{ replica: string; delayMs: number | null; code: number | null; applied: boolean }>;
}

export interface ReadinessVerdict {
  service: string;
  /** Not ready at some point while Postgres was stopped. */
  notReadyDuringOutage: boolean;
  /** Ready again this long after Postgres came back (null: never). */
  readyAgainAfterMs: number | null;
}

export interface ChaosReport {
  options: ChaosOptions;
  schedule: Array<{ step: string; at: number; tookMs: number; note?: string }>;
  messages: MessageVerdict;
  control: ControlVerdict[];
  readiness: ReadinessVerdict[];
  crashes: Crash[];
  settled: boolean;
  durationMs: number;
  ok: boolean;
  failures: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await sleep(everyMs);
  }
  return false;
}

export async function runChaos(options: ChaosOptions, say: (line: string) => void): Promise<ChaosReport> {
  const started = Date.now();
  const cluster = await startCluster({ replicas: options.replicas, say });
  const fleet: FleetClient[] = [];
  const control: ControlVerdict[] = [];
  const schedule: ChaosReport['schedule'] = [];
  const readinessWindows: Array<{ from: number; to: number }> = [];
  let sender: ReturnType<typeof setInterval> | null = null;
  try {
    const { stack, pool } = cluster;
    const secret = stack.secrets.CHAT_TOKEN_SECRET;
    const roomCount = Math.max(1, Math.ceil(options.clients / 10));
    const rooms: number[] = [];
    for (let i = 0; i < roomCount; i++) rooms.push(await createChatRoom(pool, { name: `chaos-${i}` }));
    say(`connecting ${options.clients} clients in ${roomCount} rooms…`);
    for (let i = 0; i < options.clients; i++) {
      const user = await createChatUser(pool, `chaos${i}`);
      let next = i;
      const client = new FleetClient({
        index: i,
        userId: user.id,
        roomId: rooms[i % roomCount]!,
        // The load balancer: round-robin over the replicas, whichever state they are in.
        url: () => stack.chats[next++ % stack.chats.length]!.wsUrl,
        token: async () => chatTokenFor(user, secret),
        breakIdempotency: options.breakIdempotency,
      });
      fleet.push(client);
      client.start();
    }
    if (!(await waitUntil(() => fleet.every((c) => c.state === 'open'), 30_000))) throw new Error('the clients did not all connect within 30 s');

    // Steady traffic, spread over the interval.
    const tickMs = 50;
    const perTick = (options.clients * options.rate * tickMs) / 1000;
    let credit = 0;
    let cursor = 0;
    sender = setInterval(() => {
      credit += perTick;
      while (credit >= 1) {
        credit--;
        fleet[cursor++ % fleet.length]!.sendNext();
      }
    }, tickMs);

    const stepCost: Record<Step, number> = { netcut: 0, kill9: 3_000, rolling: 9_000, redis: 7_000, 'pg-restart': 2_000, 'pg-stop': 11_000 };
    const busy = options.steps.reduce((sum, s) => sum + stepCost[s], 0);
    const gap = Math.max(2_000, Math.floor((options.durationMs - busy) / (options.steps.length + 1)));
    let killNext = 0;
    for (const step of options.steps) {
      await sleep(gap);
      const at = Date.now();
      say(`step ${step}…`);
      let note: string | undefined;
      switch (step) {
        case 'netcut': {
          for (const c of fleet) c.sendAndCut();
          note = `${fleet.length} clients cut off right after a send`;
          break;
        }
        case 'kill9': {
          const index = killNext++ % stack.chats.length;
          const replica = stack.chats[index]!;
          cluster.expectExit(`chat-${index}`);
          replica.process.child.kill('SIGKILL');
          await replica.process.exited;
          await sleep(1_000);
          await cluster.restartChat(index);
          note = `chat-${index} killed and restarted`;
          break;
        }
        case 'rolling': {
          for (let index = 0; index < stack.chats.length; index++) {
            cluster.expectExit(`chat-${index}`);
            const code = await stack.chats[index]!.process.stop('SIGTERM', 15_000);
            if (code !== 0) note = `${note ?? ''}chat-${index} exited ${code} after SIGTERM; `;
            await cluster.restartChat(index);
          }
          note ??= 'every replica drained and restarted in turn';
          break;
        }
        case 'redis': {
          control.push(await banDuringRedisOutage(cluster, options.controlBoundMs, say));
          note = 'Redis stopped ~5 s; a user banned meanwhile';
          break;
        }
        case 'pg-restart': {
          await cluster.pg.restart();
          note = 'fast shutdown and start';
          break;
        }
        case 'pg-stop': {
          const from = Date.now();
          await cluster.pg.stop();
          await sleep(10_000);
          await cluster.pg.start();
          readinessWindows.push({ from, to: Date.now() });
          note = 'stopped 10 s';
          break;
        }
      }
      schedule.push({ step, at: at - started, tookMs: Date.now() - at, ...(note ? { note } : {}) });
    }
    await sleep(gap);
    clearInterval(sender);
    sender = null;

    say('traffic stopped; waiting for every client to settle…');
    const lastSeqs = async () => {
      const { rows } = await pool.query<{ id: number; last_seq: number }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])', [rooms]);
      return new Map(rows.map((r) => [Number(r.id), Number(r.last_seq)]));
    };
    const settled = await waitUntil(async () => {
      if (fleet.some((c) => c.pending > 0)) return false;
      const last = await lastSeqs().catch(() => null);
      return last !== null && fleet.every((c) => c.lastSeq === last.get(c.opts.roomId));
    }, 60_000, 250);
    for (const c of fleet) c.stop();
    say('comparing every client with Postgres…');
    const messages = await verifyMessages(pool, fleet);
    const readiness = judgeReadiness(cluster, readinessWindows);
    return judge({ options, schedule, messages, control, readiness, crashes: cluster.crashes, settled, durationMs: Date.now() - started });
  } finally {
    if (sender) clearInterval(sender);
    for (const c of fleet) c.stop();
    say('stopping the cluster…');
    await cluster.stop();
  }
}

/**
 * Open one socket per replica for a user, stop Redis (pub/sub down), ban the user the way admin does
 * (status change and its control event in one transaction), and time each replica's close (4001).
 */
async function banDuringRedisOutage(cluster: Cluster, boundMs: number, say: (line: string) => void): Promise<ControlVerdict> {
  const { stack, pool } = cluster;
  const victim = await createChatUser(pool, 'banned');
  const token = chatTokenFor(victim, stack.secrets.CHAT_TOKEN_SECRET);
  const sockets = await Promise.all(stack.chats.map(async (c) => {
    const s = await TestSocket.open(c.wsUrl, token);
    await s.next('hello');
    return s;
  }));
  const closes = sockets.map((s) => s.waitClose(60_000).then((c) => ({ ...c, at: Date.now() }), () => null));
  await cluster.redis.stop();
  await sleep(500);
  let committedAt = 0;
  await withTransaction(pool, async (client) => {
    await client.query("UPDATE users SET status = 'banned' WHERE id = $1", [victim.id]);
    await recordControlEvent(client, { kind: 'user_status', userId: victim.id, payload: { status: 'banned' } });
  });
  committedAt = Date.now();
  const results = await Promise.race([Promise.all(closes), sleep(Math.max(boundMs + 1_500, 4_500)).then(() => null)]);
  const verdict: ControlVerdict = {
    event: `ban user ${victim.id} while Redis is down`,
    replicas: sockets.map((s, i) => {
      const closed = s.closed;
      const at = results?.[i]?.at ?? (closed ? Date.now() : null);
      const delayMs = closed && at !== null ? at - committedAt : null;
      return { replica: `chat-${i}`, delayMs, code: closed?.code ?? null, applied: closed?.code === 4001 && delayMs !== null && delayMs <= boundMs };
    }),
  };
  for (const s of sockets) s.close();
  say(`ban: ${verdict.replicas.map((r) => `${r.replica} ${r.applied ? `closed 4001 after ${r.delayMs} ms` : r.code === null ? 'NOT applied' : `closed ${r.code} after ${r.delayMs} ms`}`).join(', ')}`);
  await sleep(Math.max(0, 5_000 - (Date.now() - committedAt)));
  await cluster.redis.start();
  return verdict;
}

function judgeReadiness(cluster: Cluster, windows: Array<{ from: number; to: number }>): ReadinessVerdict[] {
  const out: ReadinessVerdict[] = [];
  for (const w of windows) {
    for (const [service, samples] of cluster.readiness) {
      const during = samples.filter((s) => s.at >= w.from && s.at <= w.to);
      const backAt = samples.find((s) => s.at > w.to && s.ready)?.at;
      out.push({ service, notReadyDuringOutage: during.some((s) => !s.ready), readyAgainAfterMs: backAt === undefined ? null : backAt - w.to });
    }
  }
  return out;
}

function judge(r: Omit<ChaosReport, 'ok' | 'failures'>): ChaosReport {
  const failures: string[] = [];
  const m = r.messages;
  if (m.lost) failures.push(`${m.lost} message(s) lost`);
  if (m.duplicated) failures.push(`${m.duplicated} duplicate(s)`);
  if (m.reordered) failures.push(`${m.reordered} reordering(s)`);
  if (m.mismatched) failures.push(`${m.mismatched} message(s) with the wrong body`);
  if (!r.settled) failures.push('the clients did not all catch up within 60 s after traffic stopped');
  for (const c of r.crashes) failures.push(`${c.process} crashed (exit ${c.code})`);
  for (const e of r.control) {
    for (const rep of e.replicas) if (!rep.applied) failures.push(`control event "${e.event}" not applied on ${rep.replica} within ${r.options.controlBoundMs} ms`);
  }
  for (const x of r.readiness) {
    if (!x.notReadyDuringOutage) failures.push(`${x.service} stayed ready while Postgres was stopped`);
    if (x.readyAgainAfterMs === null) failures.push(`${x.service} never became ready again after Postgres came back`);
  }
  return { ...r, ok: failures.length === 0, failures };
}
