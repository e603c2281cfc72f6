// The group-commit writer alone (no WebSocket server, no clients' CPU): an earlier commit's
// message-writer.ts against the working tree's, interleaved in rounds in one process, on the same
// database, so the difference is the writer's scheduling and statement. Each round, per version:
// a closed loop (SENDERS senders × WINDOW sends in flight: msgs/s and ack latency at saturation) and an
// open loop at RATE msgs/s (ack latency below saturation), with the Postgres CPU of the writer's backends
// (/proc/<pid>/stat), the transactions and the one-message transactions.
//
// `BEFORE=f0f3ea9 ROUNDS=3 SECONDS=5 RATE=5000 node bench/writer-ab.mjs` (AFTER=<commit>: that commit's
// writer instead of the working tree's; the two are bundled with this tree's imports): its own database on
// TEST_PG_URL's server with the working tree's migrations and N (200,000) messages of history, dropped
// at the end. CONCURRENCY: DB_WRITE_CONCURRENCY of both (4).
import pg from 'pg';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ROOT, cpuOf, env, med, pct, withScratchDatabase } from './pg-scratch.mjs';

const WRITER_DIR = `${ROOT}apps/chat/src/messages`;
const BEFORE = env('BEFORE', 'HEAD');
const N = Number(env('N', 200_000)), ROUNDS = Number(env('ROUNDS', 3)), SECONDS = Number(env('SECONDS', 5));
const RATE = Number(env('RATE', 5000)), SENDERS = Number(env('SENDERS', 200)), WINDOW = Number(env('WINDOW', 4));
const CONCURRENCY = Number(env('CONCURRENCY', 4));
const ROOMS = 50;

/** The MessageWriter class of one version of message-writer.ts, bundled with its imports. */
async function writerClass(name, source) {
  // Under the repository, so that `pg` (left external: one driver for both) resolves from its node_modules.
  const out = `${ROOT}bench/dist/writer-ab-${name}.mjs`;
  const result = await build({
    stdin: { contents: source, resolveDir: WRITER_DIR, sourcefile: `${name}.ts`, loader: 'ts' },
    bundle: true, platform: 'node', format: 'esm', external: ['pg'], write: false,
  });
  mkdirSync(`${ROOT}bench/dist`, { recursive: true });
  writeFileSync(out, result.outputFiles[0].text);
  return (await import(pathToFileURL(out).href)).MessageWriter;
}
const versions = [
  { name: `before (${BEFORE})`, Writer: await writerClass('before', execFileSync('git', ['show', `${BEFORE}:apps/chat/src/messages/message-writer.ts`], { cwd: ROOT, encoding: 'utf8' })) },
  process.env.AFTER
    ? { name: `after (${process.env.AFTER})`, Writer: await writerClass('after', execFileSync('git', ['show', `${process.env.AFTER}:apps/chat/src/messages/message-writer.ts`], { cwd: ROOT, encoding: 'utf8' })) }
    : { name: 'working tree', Writer: await writerClass('after', readFileSync(`${WRITER_DIR}/message-writer.ts`, 'utf8')) },
];

const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

const load0 = loadavg()[0];
await withScratchDatabase('parley_writer_ab', async (url, db) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`INSERT INTO users (email, handle, display_name, password_hash) SELECT 'w'||g||'@x.test','wab_'||g,'W '||g,'x' FROM generate_series(1,${SENDERS}) g`);
  await c.query(`INSERT INTO rooms (name, kind) SELECT 'wab '||g, 'public' FROM generate_series(1,${ROOMS + 1}) g`);
  const users = (await c.query('SELECT id FROM users ORDER BY id')).rows.map((r) => Number(r.id));
  const allRooms = (await c.query("SELECT id FROM rooms WHERE name LIKE 'wab %' ORDER BY id")).rows.map((r) => Number(r.id));
  const history = allRooms.pop(); // the history has a room of its own, as in the persist scenario
  const rooms = allRooms;
  await c.query(`INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, author_role)
    SELECT ${history}, g + 1, ${users[0]} + (g % ${SENDERS}), 'seed-'||g, 'hello w'||(g*13%50000), 'user' FROM generate_series(0::bigint, ${N} - 1) g`);
  await c.query(`UPDATE rooms SET last_seq = ${N} WHERE id = ${history}`);
  await c.query('VACUUM ANALYZE');
  let k = 0;
  const msg = (sender) => ({ roomId: rooms[sender % ROOMS], authorId: users[sender], clientId: `ab-${k++}`, body: `persisted message ${k} ${'p'.repeat(48)}` });

  /** One slot of one version: closed loop (rate 0) or open loop at `rate`. */
  async function slot(v, i, mode) {
    const pool = new pg.Pool({ connectionString: url, max: 8, idleTimeoutMillis: 0, application_name: `writer-ab-${i}` });
    const writer = new v.Writer(pool, { concurrency: CONCURRENCY });
    await Promise.all(Array.from({ length: 40 }, (_, s) => writer.store(msg(s % SENDERS)))); // opens the connections (authors wrap: SENDERS may be under 40)
    const pids = (await c.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [db, `writer-ab-${i}`])).rows.map((r) => r.pid);
    const cpu0 = pids.reduce((a, p) => a + cpuOf(p), 0);
    const b0 = writer.stats.batches, m0 = writer.stats.batchedMessages;
    const lat = [];
    let acked = 0;
    const t0 = performance.now(), end = t0 + SECONDS * 1000;
    const send = (s) => {
      const at = performance.now();
      return writer.store(msg(s)).then(() => { lat.push(performance.now() - at); acked++; });
    };
    if (mode === 'window') {
      await Promise.all(Array.from({ length: SENDERS * WINDOW }, async (_, j) => {
        while (performance.now() < end) await send(j % SENDERS);
      }));
    } else {
      const pending = [];
      let sent = 0;
      await new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          const due = Math.min(Math.floor(((now - t0) / 1000) * RATE), RATE * SECONDS);
          for (; sent < due; sent++) pending.push(send(Math.floor(Math.random() * SENDERS)));
          if (now < end) setTimeout(tick, 1); else resolve();
        };
        tick();
      });
      await Promise.all(pending);
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = pids.reduce((a, p) => a + cpuOf(p), 0) - cpu0;
    const batches = writer.stats.batches - b0;
    await writer.idle();
    await pool.end();
    return { msgsPerSec: acked / secs, p50: pct(lat, 50), p99: pct(lat, 99), pgUs: (cpu * 1e6) / acked, batches, meanBatch: (writer.stats.batchedMessages - m0) / batches };
  }

  const results = versions.map(() => ({ window: [], rate: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['window', 'rate']) {
      // Alternate which version goes first (the table grows, the machine's load drifts).
      for (const i of r % 2 ? [1, 0] : [0, 1]) {
        const v = versions[i];
        const res = await slot(v, i, mode);
        results[i][mode].push(res);
        log(`round ${r + 1} ${mode} ${v.name}: ${Math.round(res.msgsPerSec)} msgs/s, p50/p99 ${res.p50.toFixed(1)}/${res.p99.toFixed(1)} ms, Postgres ${res.pgUs.toFixed(1)} µs/msg, ${res.batches} tx, mean batch ${res.meanBatch.toFixed(1)}`);
      }
    }
  }
  const f = (v, d = 1) => v.toFixed(d);
  console.log(`\nWriter alone, ${SENDERS} senders over ${ROOMS} rooms, concurrency ${CONCURRENCY}, ${N} messages before; medians of ${ROUNDS} rounds × ${SECONDS} s; load ${f(load0)} → ${f(loadavg()[0])}`);
  console.log('| writer | closed loop msgs/s | p50 / p99 ms | Postgres µs/msg | mean batch | at ' + RATE + '/s: p50 / p99 ms | Postgres µs/msg | mean batch |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [i, v] of versions.entries()) {
    const w = results[i].window, q = results[i].rate, m = (a, key) => med(a.map((x) => x[key]));
    console.log(`| ${v.name} | ${Math.round(m(w, 'msgsPerSec'))} | ${f(m(w, 'p50'))} / ${f(m(w, 'p99'))} | ${f(m(w, 'pgUs'))} | ${f(m(w, 'meanBatch'))} | ${f(m(q, 'p50'))} / ${f(m(q, 'p99'))} | ${f(m(q, 'pgUs'))} | ${f(m(q, 'meanBatch'))} |`);
  }
  await c.end();
});
