// The bench side of bench/server-probe.mjs: the NODE_OPTIONS that load it into a server under test, and
// a reader that asks a server for its counters (socket writes) or its heap after a forced GC.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `--import` of the probe, for a server's NODE_OPTIONS. */
export const PROBE_NODE_OPTIONS = `--import ${resolve(ROOT, 'bench/server-probe.mjs')}`;

export interface ProbeReading {
  /** Writes to the server's accepted sockets since it started (one per write call reaching the kernel). */
  socketWrites: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** Ask the server `pid` for a reading (`gc`: after a forced full GC); null if it does not answer. */
export async function probeServer(pid: number, opts: { gc: boolean }, timeoutMs = 5_000): Promise<ProbeReading | null> {
  const base = join(tmpdir(), `parley-bench-probe-${pid}`);
  rmSync(`${base}.json`, { force: true });
  writeFileSync(`${base}.req`, opts.gc ? 'gc' : 'count');
  try {
    process.kill(pid, 'SIGUSR2');
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (existsSync(`${base}.json`)) return JSON.parse(readFileSync(`${base}.json`, 'utf8')) as ProbeReading;
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  } catch {
    return null;
  } finally {
    rmSync(`${base}.req`, { force: true });
    rmSync(`${base}.json`, { force: true });
  }
}

/** Socket writes of the server since it started, or null. */
export async function socketWrites(pid: number): Promise<number | null> {
  return (await probeServer(pid, { gc: false }))?.socketWrites ?? null;
}
