// Diagnostics (bench/README.md, "Where a stored message's time goes"): Postgres CPU per message of chat's
// group-commit statement, as committed batches, for the statement in the working tree against the one of
// an earlier commit, interleaved in rounds in the same run. CPU is the backend's utime+stime from
// /proc/<pid>/stat (Postgres runs on this machine), so time spent waiting for a CPU on a loaded machine
// does not count, unlike EXPLAIN ANALYZE's wall times (bench/insert-cost.mjs).
//
// AFTER_FILE: a copy of message-writer.ts to measure instead of the working tree's (trying variants).
// `BEFORE=<commit> N=200000 BATCH=100 BATCHES=60 ROUNDS=5 node bench/batch-cpu.mjs`: its own database on
// TEST_PG_URL's server with the working tree's migrations, dropped at the end. The earlier statement
// runs against the same schema (so 0011's trigger change applies to both: a statement that leaves
// author_role unset pays the trigger, as it did before 0011). PRE_SQL (optional) runs after seeding, to
// price a schema change, e.g. PRE_SQL='ALTER TABLE messages DROP CONSTRAINT messages_author_id_fkey'.
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { transformSync } from 'esbuild';
import { ROOT, cpuOf, env, med, withScratchDatabase } from './pg-scratch.mjs';

const WRITER = 'apps/chat/src/messages/message-writer.ts';
const BEFORE = env('BEFORE', 'HEAD');
const N = Number(env('N', 200_000)), BATCH = Number(env('BATCH', 100)), BATCHES = Number(env('BATCHES', 60)), ROUNDS = Number(env('ROUNDS', 5));
const ROOMS = 50, USERS = 2000;

/** BATCH_INSERT of a version of message-writer.ts: its SQL constants, type-stripped and evaluated. */
function batchStatement(source) {
  const from = source.indexOf('const ATTACHMENT_JSON');
  const to = source.indexOf('export function toChatMessage');
  const code = source.slice(from, to).replace(/^export /gm, '');
  const js = transformSync(`function statement(REPLY_EXCERPT_CHARS) {\n${code}\nreturn BATCH_INSERT;\n}`, { loader: 'ts' }).code;
  return new Function(`${js}\nreturn statement;`)()(140);
}
const variants = [
  { name: `before (${BEFORE})`, text: batchStatement(execFileSync('git', ['show', `${BEFORE}:${WRITER}`], { cwd: ROOT, encoding: 'utf8' })) },
  { name: process.env.AFTER_FILE ?? 'working tree', text: batchStatement(readFileSync(process.env.AFTER_FILE ?? `${ROOT}${WRITER}`, 'utf8')) },
  // The floor: the same rows by a bare multi-row INSERT (no seq allocation, no checks, no result rows).
  {
    name: 'bare INSERT … SELECT FROM unnest (floor)',
    text: `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, author_role)
      SELECT r, 1000000000 + split_part(cid, '-', 2)::bigint, a, cid, b, 'user'
      FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS t(r, a, cid, b, rt, att)`,
  },
];

const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);

await withScratchDatabase('parley_batch_cpu', async (url) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`INSERT INTO users (email, handle, display_name, password_hash) SELECT 'c'||g||'@x.test','cpu_'||g,'C '||g,'x' FROM generate_series(1,${USERS}) g`);
  await c.query(`INSERT INTO rooms (name, kind) SELECT 'cpu '||g, 'public' FROM generate_series(1,${ROOMS}) g`);
  const users = (await c.query('SELECT id FROM users ORDER BY id')).rows.map((r) => Number(r.id));
  const rooms = (await c.query("SELECT id FROM rooms WHERE name LIKE 'cpu %' ORDER BY id")).rows.map((r) => Number(r.id));
  log('seeding', N, 'messages');
  await c.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, author_role)
    SELECT ${rooms[0]} + (g % ${ROOMS}), (g / ${ROOMS}) + 1, ${users[0]} + (g % ${USERS}), 'seed-'||g,
      'w'||(g*7919%50000)||' w'||(g*104729%50000)||' w'||(g*31%977)||' hello w'||(g*13%50000), 'user'
    FROM generate_series(0::bigint, ${N} - 1) g`);
  await c.query(`UPDATE rooms r SET last_seq = (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.room_id = r.id)`);
  if (process.env.PRE_SQL) await c.query(process.env.PRE_SQL);
  await c.query('VACUUM ANALYZE');
  const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  let k = 0;
  const args = () => {
    const a = [[], [], [], [], [], []];
    for (let i = 0; i < BATCH; i++) { k++; a[0].push(rooms[k % ROOMS]); a[1].push(users[k % USERS]); a[2].push(`cpu-${k}`); a[3].push(`persisted message cpu-${k} ${'p'.repeat(48)}`); a[4].push(null); a[5].push(null); }
    return a;
  };
  // Warm-up: each named statement past Postgres's first five custom plans (the writer's steady state).
  for (const [i, v] of variants.entries()) for (let b = 0; b < 8; b++) await c.query({ name: `v${i}`, text: v.text, values: args() });
  const perMsg = variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      const cpu0 = cpuOf(pid);
      for (let b = 0; b < BATCHES; b++) await c.query({ name: `v${i}`, text: v.text, values: args() });
      perMsg[i].push(((cpuOf(pid) - cpu0) * 1e6) / (BATCHES * BATCH));
    }
    log(`round ${r + 1}:`, variants.map((v, i) => `${v.name} ${perMsg[i].at(-1).toFixed(1)} µs/msg`).join(', '));
  }
  console.log(`\nPostgres backend CPU per message, batches of ${BATCH} over ${ROOMS} rooms, committed one by one, ${N} messages before (median of ${ROUNDS} rounds × ${BATCHES} batches):`);
  // Planned once (generic plan) or at every execution (custom plans)? Postgres decides after five.
  const plans = new Map((await c.query('SELECT name, generic_plans, custom_plans FROM pg_prepared_statements')).rows.map((r) => [r.name, r]));
  for (const [i, v] of variants.entries()) {
    const p = plans.get(`v${i}`);
    console.log(`| ${v.name} | ${med(perMsg[i]).toFixed(1)} µs/msg | plans: ${p?.generic_plans} generic, ${p?.custom_plans} custom |`);
  }
  await c.end();
});
