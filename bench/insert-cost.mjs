// Diagnostics (bench/README.md, "Where a stored message's time goes"): EXPLAIN (ANALYZE, BUFFERS) of
// chat's group-commit statement on N (default 1,000,000) messages, the per-row cost of the author_role
// trigger and of each index, commit wall time, WAL per message. Needs psql and a built chat
// (node scripts/build.mjs). `N=1000000 REPS=15 TEST_PG_URL=postgres://... node bench/insert-cost.mjs`:
// its own database on that server, dropped at the end. Figures are wall time on a shared machine.
import pg from 'pg';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const db = `parley_insert_cost_${process.pid}`;
const server = new URL(process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const admin = new pg.Client({ connectionString: server.toString() });
await admin.connect();
await admin.query(`CREATE DATABASE ${db}`);
server.pathname = `/${db}`;
const url = server.toString();
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);
try {
  for (const f of readdirSync(`${ROOT}packages/db/migrations`).sort()) execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', `${ROOT}packages/db/migrations/${f}`], { stdio: 'pipe' });
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  // the batch statement as the chat server sends it (from the build, constants interpolated)
  const dist = readFileSync(`${ROOT}apps/chat/dist/main.js`, 'utf8');
  const grab = (name) => { const i = dist.indexOf(`var ${name} = `); return dist.slice(i, dist.indexOf(';\n', i) + 1); };
  const REPLY_EXCERPT_CHARS = 140;
  const BATCH_INSERT = new Function('REPLY_EXCERPT_CHARS', ['ATTACHMENT_JSON', 'LINK_WHERE', 'REPLY_COLUMNS', 'REPLY_JOIN', 'BATCH_INSERT'].map(grab).join('\n') + '\nreturn BATCH_INSERT;')(REPLY_EXCERPT_CHARS);
  const N = Number(process.env.N ?? 1_000_000), ROOMS = 1000, USERS = 2000;
  log('seeding', N);
  await c.query(`INSERT INTO users (email, handle, display_name, password_hash) SELECT 'c'||g||'@x.test','cost_'||g,'C '||g,'x' FROM generate_series(1,${USERS}) g`);
  await c.query(`INSERT INTO rooms (name, kind) SELECT 'cost '||g, 'public' FROM generate_series(1,${ROOMS}) g`);
  await c.query(`DROP INDEX messages_search_idx`);
  await c.query(`SET session_replication_role = replica`);
  await c.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at, author_role)
    SELECT r0 + (g % ${ROOMS}), (g / ${ROOMS}) + 1, u0 + (g % ${USERS}), 'seed-'||g,
      'w'||(g*7919%50000)||' w'||(g*104729%50000)||' w'||(g*31%977)||' w'||(g*17%89)||' hello w'||(g*13%50000)||' w'||(g%7),
      now() - make_interval(secs => ((${N} - g) * 2)::float8), 'user'
    FROM generate_series(0::bigint, ${N} - 1) g, (SELECT min(id) AS u0 FROM users) u, (SELECT min(id) AS r0 FROM rooms WHERE name LIKE 'cost %') r`);
  await c.query(`SET session_replication_role = origin`);
  await c.query(`UPDATE rooms r SET last_seq = (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.room_id = r.id)`);
  log('seeded; building GIN index');
  const idx = readFileSync(`${ROOT}packages/db/migrations/0007_search_2_index.sql`, 'utf8').match(/CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_search_idx[\s\S]*?;/)[0].replace(' CONCURRENTLY', '');
  await c.query(idx);
  await c.query('VACUUM ANALYZE messages'); await c.query('ANALYZE');
  const { rows: sz } = await c.query(`SELECT pg_size_pretty(pg_table_size('messages')) t, (SELECT count(*) FROM messages) n, (SELECT json_agg(json_build_object(indexrelname, pg_size_pretty(pg_relation_size(indexrelid)))) FROM pg_stat_user_indexes WHERE relname='messages') i`);
  log('table', JSON.stringify(sz[0]));
  const users = (await c.query('SELECT id FROM users ORDER BY id')).rows.map((r) => Number(r.id));
  const rooms = (await c.query("SELECT id FROM rooms WHERE name LIKE 'cost %' ORDER BY id")).rows.map((r) => Number(r.id));
  let k = 0;
  const args = (n, nRooms) => {
    const a = [[], [], [], [], [], []];
    for (let i = 0; i < n; i++) { k++; a[0].push(rooms[i % nRooms]); a[1].push(users[k % users.length]); a[2].push(`cost-${k}`); a[3].push(`persisted message cost-${k} ${'p'.repeat(48)}`); a[4].push(null); a[5].push(null); }
    return a;
  };
  const med = (v) => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
  const explain = async (text, values) => {
    await c.query('BEGIN');
    const { rows } = await c.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
    await c.query('ROLLBACK');
    return rows[0]['QUERY PLAN'][0];
  };
  const REPS = Number(process.env.REPS ?? 15);
  console.log('\n## batch statement (EXPLAIN ANALYZE inside BEGIN/ROLLBACK; median of', REPS, ')');
  console.log('| batch | rooms | exec ms | µs/msg | planning ms | trigger ms | shared hit/read/dirtied |');
  for (const [n, nr] of [[1, 1], [10, 10], [50, 50], [60, 50], [200, 50], [500, 50]]) {
    const ex = [], pl = [], tr = []; let buf = '';
    let plan;
    for (let r = 0; r < REPS; r++) {
      plan = await explain(BATCH_INSERT, args(n, nr));
      ex.push(plan['Execution Time']); pl.push(plan['Planning Time']);
      tr.push((plan.Triggers ?? []).reduce((s, t) => s + t.Time, 0));
      const p = plan.Plan; buf = `${p['Shared Hit Blocks']}/${p['Shared Read Blocks']}/${p['Shared Dirtied Blocks']}`;
    }
    console.log(`| ${n} | ${nr} | ${med(ex).toFixed(2)} | ${(med(ex) * 1000 / n).toFixed(1)} | ${med(pl).toFixed(2)} | ${med(tr).toFixed(2)} | ${buf} |`);
    if (n === 60) { globalThis.plan60 = plan; }
  }
  // the nodes of the 60-message plan, by actual total time
  const nodes = [];
  const walk = (p, d) => { nodes.push([d, p['Node Type'] + (p['Relation Name'] ? ` on ${p['Relation Name']}` : '') + (p['Index Name'] ? ` using ${p['Index Name']}` : '') + (p['CTE Name'] ? ` (${p['CTE Name']})` : ''), p['Actual Total Time'] * p['Actual Loops'], p['Actual Loops']]); for (const ch of p.Plans ?? []) walk(ch, d + 1); };
  walk(globalThis.plan60.Plan, 0);
  console.log('\nplan of a 60-message batch (node, total ms = actual time × loops, loops):');
  for (const [d, name, t, loops] of nodes) console.log(`${'  '.repeat(d)}${name}  ${t.toFixed(3)} ms  ×${loops}`);
  console.log('triggers:', JSON.stringify(globalThis.plan60.Triggers));
  // per-row insert cost: the same 100-row INSERT with the trigger / each index removed (in the rolled-back transaction)
  const ins100 = `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body)
    SELECT r, 100000000 + ord, a, cid, b FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS t(r, a, cid, b, ord)`;
  const { rows: idxs } = await c.query(`SELECT indexrelname AS name FROM pg_stat_user_indexes s WHERE relname='messages' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid) ORDER BY 1`);
  const variants = [['all (as deployed)', ''], ['without the author_role trigger', 'ALTER TABLE messages DISABLE TRIGGER messages_author_role'],
    ...idxs.map((i) => [`without ${i.name}`, `DROP INDEX ${i.name}`]),
    ['without trigger and GIN index', 'ALTER TABLE messages DISABLE TRIGGER messages_author_role; DROP INDEX messages_search_idx'],
    ['without trigger and every non-unique index', ['ALTER TABLE messages DISABLE TRIGGER messages_author_role', ...(await c.query(`SELECT indexrelname AS name FROM pg_stat_user_indexes s WHERE relname='messages' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)`)).rows.map((i) => `DROP INDEX ${i.name}`)].join('; ')]];
  console.log('\n## 100-row INSERT ... SELECT FROM unnest (no CTEs), µs per row, median of', REPS);
  console.log('| variant | µs/row | trigger µs/row |');
  for (const [name, pre] of variants) {
    const ex = [], tr = [];
    for (let r = 0; r < REPS; r++) {
      const a = args(100, 50);
      await c.query('BEGIN');
      if (pre) await c.query(pre);
      const { rows } = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${ins100}`, [a[0], a[1], a[2], a[3]]);
      await c.query('ROLLBACK');
      const p = rows[0]['QUERY PLAN'][0];
      ex.push(p['Execution Time']); tr.push((p.Triggers ?? []).reduce((s, t) => s + t.Time, 0));
    }
    console.log(`| ${name} | ${(med(ex) * 10).toFixed(1)} | ${(med(tr) * 10).toFixed(1)} |`);
  }
  // commit cost: the real statement in autocommit, client wall time (round trip + WAL flush)
  console.log('\n## batch statement committed (prepared, autocommit): client wall ms, median of', REPS);
  for (const n of [1, 60, 500]) {
    const t = [];
    for (let r = 0; r < REPS; r++) { const a = args(n, Math.min(n, 50)); const t0 = performance.now(); await c.query({ name: 'b', text: BATCH_INSERT, values: a }); t.push(performance.now() - t0); }
    console.log(`| ${n} | ${med(t).toFixed(2)} ms | ${(med(t) * 1000 / n).toFixed(1)} µs/msg |`);
  }
  // Did the writer's way of running it (a named protocol-level statement, above) get a generic plan
  // (no planning per batch) after Postgres's first 5 custom plans? pg_prepared_statements counts both.
  const { rows: pp } = await c.query(`SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'b'`);
  console.log(`\nnamed batch statement after ${3 * REPS} executions: ${JSON.stringify(pp[0])}`);
  const wal0 = (await c.query('SELECT pg_current_wal_lsn() l')).rows[0].l;
  for (let r = 0; r < 10; r++) await c.query({ name: 'b', text: BATCH_INSERT, values: args(100, 50) });
  const { rows: w } = await c.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS b`, [wal0]);
  console.log(`WAL per message (1,000 messages in batches of 100; shared server, other writers included): ${(Number(w[0].b) / 1000).toFixed(0)} bytes`);
  await c.end();
} catch (e) { console.error('FAILED', e.message, e.position ?? ''); } finally {
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
}
