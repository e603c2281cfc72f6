// Shared by the plain-.mjs Postgres diagnostics (batch-cpu.mjs, writer-ab.mjs): a scratch database with
// the working tree's migrations, and the CPU a local Postgres backend has used.
import pg from 'pg';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const env = (name, fallback) => process.env[name] ?? fallback;

/** CPU seconds (utime + stime) of a process on this machine, from /proc/<pid>/stat. */
export const cpuOf = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
export const pct = (v, p) => { const s = [...v].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]; };
export const med = (v) => pct(v, 50);

/** Runs `fn(url, name)` against a fresh database on TEST_PG_URL's server with the working tree's migrations; drops it after. */
export async function withScratchDatabase(prefix, fn) {
  const db = `${prefix}_${process.pid}`;
  const server = new URL(env('TEST_PG_URL', 'postgres://postgres@127.0.0.1:5432/postgres'));
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  server.pathname = `/${db}`;
  const url = server.toString();
  try {
    for (const f of readdirSync(`${ROOT}packages/db/migrations`).sort()) execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', `${ROOT}packages/db/migrations/${f}`], { stdio: 'pipe' });
    return await fn(url, db);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}
