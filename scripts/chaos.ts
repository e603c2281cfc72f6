// `npm run chaos`: see Parley's guarantee for yourself. Starts its own Postgres and Redis, 3 chat
// replicas and admin (the built services, as real processes), connects N chat clients (the browser's
// own ChatClient) that send steadily, resume after every reconnect and resend what was not
// acknowledged, and meanwhile: cuts every client's network right after a send, kill -9s a replica,
// restarts all replicas one by one with SIGTERM, stops Redis (and bans a user while it is down),
// restarts Postgres and stops it for 10 s. Then it compares every client's received messages with
// Postgres and prints acked / lost / duplicated / reordered messages, the ban's delay per replica,
// readiness during the Postgres outage, and any process that crashed. Exit code 1 on any loss,
// duplicate, reorder, crash, readiness miss, or control event not applied within the bound.
//
// Options: --clients N (60), --duration SECONDS (90: the schedule's length, plus start and settle),
// --rate MSGS_PER_CLIENT_PER_SEC (1), --steps netcut,kill9,rolling,redis,pg-restart,pg-stop (all),
// --json FILE (the report as JSON), --break-idempotency (or CHAOS_BREAK_IDEMPOTENCY=1: clients resend
// with a new client id, which must make the run fail). Progress on stderr, the report on stdout.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runChaos, STEPS, type ChaosReport, type Step } from './chaos/run.ts';

const say = (line: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run chaos -- [--clients 60] [--duration 90] [--rate 1] [--steps ${STEPS.join(',')}] [--json FILE] [--break-idempotency]\n`);
  process.exit(2);
}

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) usage(`--${name} must be a number above 0 and at most ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

const { values } = parseArgs({
  options: {
    clients: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    steps: { type: 'string' },
    json: { type: 'string' },
    'break-idempotency': { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (values.help) usage('Chaos run: real processes, real faults, every message checked against Postgres.');
const steps = (values.steps ?? STEPS.join(',')).split(',').filter(Boolean);
for (const s of steps) if (!(STEPS as readonly string[]).includes(s)) usage(`unknown step ${JSON.stringify(s)}; steps: ${STEPS.join(', ')}`);

const options = {
  clients: Math.round(positive('clients', values.clients, 60, 2_000)),
  durationMs: positive('duration', values.duration, 90, 3_600) * 1000,
  rate: positive('rate', values.rate, 1, 50),
  replicas: 3,
  steps: steps as Step[],
  breakIdempotency: values['break-idempotency'] === true || process.env.CHAOS_BREAK_IDEMPOTENCY === '1',
  controlBoundMs: 3_000,
};

function print(r: ChaosReport): void {
  const m = r.messages;
  const lines = [
    '',
    `Parley chaos run: ${r.options.clients} clients, 3 chat replicas + admin, ${(r.durationMs / 1000).toFixed(0)} s${r.options.breakIdempotency ? ' (idempotency BROKEN on purpose)' : ''}`,
    'schedule:',
    ...r.schedule.map((s) => `  +${(s.at / 1000).toFixed(1).padStart(5)} s  ${s.step.padEnd(10)} ${String(s.tookMs).padStart(6)} ms  ${s.note ?? ''}`),
    'messages:',
    `  sent ${m.sent}, acked ${m.acked}, stored ${m.stored}, delivered ${m.deliveries} (every client sees its room's whole log)`,
    `  client reconnects ${m.reconnects}; errors answered ${Object.entries(m.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'} (retried by the clients)`,
    `  lost ${m.lost}, duplicated ${m.duplicated}, reordered ${m.reordered}, wrong body ${m.mismatched}`,
    ...m.examples.map((e) => `    ${e}`),
    'control events (bound 3 s):',
    ...(r.control.length ? r.control.flatMap((e) => [`  ${e.event}:`, ...e.replicas.map((x) => `    ${x.replica}: ${x.applied ? `applied after ${x.delayMs} ms` : x.code === null ? 'NOT applied' : `closed with ${x.code} after ${x.delayMs} ms (${x.code === 4001 ? 'too late' : 'not the ban'})`}`)]) : ['  (none scheduled)']),
    'readiness while Postgres was stopped:',
    ...(r.readiness.length ? r.readiness.map((x) => `  ${x.service}: ${x.notReadyDuringOutage ? 'not ready' : 'STAYED READY'}, ready again ${x.readyAgainAfterMs === null ? 'NEVER' : `${x.readyAgainAfterMs} ms after it came back`}`) : ['  (not scheduled)']),
    `crashes: ${r.crashes.length ? '' : 'none'}`,
    ...r.crashes.map((c) => `  ${c.process} exited with ${c.code}:\n${c.lastLines.map((l) => `    ${l}`).join('\n')}`),
    '',
    r.ok ? 'PASS: nothing lost, duplicated or reordered; no crash; control events applied in time.' : `FAIL:\n${r.failures.map((f) => `  - ${f}`).join('\n')}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

try {
  const report = await runChaos(options, say);
  print(report);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  say(`the chaos run itself failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(3);
}
