// Smoke test of `npm run bench`: quick mode (small N, short slots) must run end to end and write a
// JSON with every figure the full benchmark reports, for Parley and both baselines. It says nothing
// about performance: the real figures come from the full run (`npm run bench`), not from npm test.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runQuick(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'bench/dist/run.js')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_OUT: out, BENCH_TIMEOUT_MS: '150000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** The parts of the benchmark's JSON report this test reads. */
interface Report {
  errors: unknown[];
  config: { subscribers: number; idleConnections: number; joinUsers: number; joinBaseUsers: number; searchMessages: number; searchIterations: number };
  broadcast: Record<string, {
    subscribers: number;
    throughput: { deliveriesPerSecMedian: number; serverCpuUsPerDeliveryMedian: number; p99Ms: number };
    latency: { p50Ms: number; p99Ms: number; timeToLastMedianMs: number; deliveries: number; expected: number };
  }>;
  idle: Record<string, { connections: number; bytesPerConnection: number }>;
  join: Record<string, { joined: number; failed: number }>;
  joinBase: { users: number; joined: number; failed: number } | null;
  persist: {
    window: {
      ackedPerSecMedian: number; p99Ms: number; serverCpuUsPerMessage: number; pgCpuUsPerMessage: number; deliveries: number; acked: number; bytesPerDelivery: number;
      batchSize: { count: number; mean: number } | null;
    };
    rate: { ackedPerSec: number; p50Ms: number; p99Ms: number; pgCpuUsPerMessage: number };
    baseline1: { rowsPerSecMedian: number; prepared: boolean };
    baselinePool: { rowsPerSecMedian: number; prepared: boolean; pgCpuUsPerRow: number };
    ratioMedian: number;
    ackedButNotStored: number;
  };
  search: {
    messages: number;
    cases: Record<'common' | 'rare' | 'from', {
      p50Ms: number; p99Ms: number; count: number; hitsMedian: number;
      baseline: { p50Ms: number; p99Ms: number };
    }>;
  };
  ratios: Record<string, unknown>;
  targets: unknown[];
}

describe('npm run bench (quick mode)', () => {
  it('measures every scenario for Parley and both baselines and writes JSON plus a markdown table', async () => {
    expect(existsSync(resolve(ROOT, 'bench/dist/run.js')), 'bench/dist/run.js: run node scripts/build.mjs first').toBe(true);
    const out = join(dir, 'quick.json');
    const r = await runQuick(out);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('| metric | Parley | raw ws | Socket.IO + Redis adapter |');
    expect(r.stdout).toContain('### Targets');
    const json = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(json.errors).toEqual([]);
    for (const kind of ['parley', 'ws', 'sio']) {
      const b = json.broadcast[kind]!;
      expect(b.subscribers, kind).toBe(json.config.subscribers);
      for (const v of [b.throughput.deliveriesPerSecMedian, b.throughput.serverCpuUsPerDeliveryMedian, b.throughput.p99Ms, b.latency.p50Ms, b.latency.p99Ms, b.latency.timeToLastMedianMs]) {
        expect(num(v) && v > 0, `${kind} broadcast ${JSON.stringify(b)}`).toBe(true);
      }
      expect(b.latency.deliveries, kind).toBe(b.latency.expected);
      const idle = json.idle[kind]!;
      expect(idle.connections, kind).toBe(json.config.idleConnections);
      expect(num(idle.bytesPerConnection), kind).toBe(true);
      expect(json.join[kind]!.joined, kind).toBe(json.config.joinUsers);
    }
    // The join scenario's small crowd ran in the same run, so the crowd's time reads as a ratio to it.
    expect(json.joinBase).toMatchObject({ users: json.config.joinBaseUsers, joined: json.config.joinBaseUsers, failed: 0 });
    expect(json.join.parley!.failed).toBe(0);
    expect(num(json.ratios.joinSecondsVsBase), 'joinSecondsVsBase').toBe(true);
    const p = json.persist;
    for (const v of [
      p.window.ackedPerSecMedian, p.window.p99Ms, p.rate.ackedPerSec, p.rate.p50Ms, p.rate.p99Ms, p.baseline1.rowsPerSecMedian, p.baselinePool.rowsPerSecMedian,
      p.ratioMedian, p.window.serverCpuUsPerMessage, p.window.pgCpuUsPerMessage, p.rate.pgCpuUsPerMessage, p.baselinePool.pgCpuUsPerRow, p.window.bytesPerDelivery,
    ]) {
      expect(num(v) && v > 0, JSON.stringify(p)).toBe(true);
    }
    expect(p.baseline1.prepared && p.baselinePool.prepared).toBe(true);
    // Every stored message reaches the members of its room (each sender's room has several members).
    expect(p.window.deliveries).toBeGreaterThanOrEqual(p.window.acked);
    // A delivery frame carries at least the message body the senders wrote (> 80 bytes).
    expect(p.window.bytesPerDelivery).toBeGreaterThan(80);
    expect(r.stdout).toContain('chat CPU per stored message, ack + deliveries included (µs)');
    // Group-commit batch sizes come from chat's /metrics around the slot.
    expect(p.window.batchSize?.count, JSON.stringify(p.window.batchSize)).toBeGreaterThan(0);
    expect(p.window.batchSize!.mean).toBeGreaterThanOrEqual(1);
    expect(p.ackedButNotStored).toBe(0);
    for (const key of ['cpuPerDeliveryVsWs', 'cpuPerDeliveryVsSio', 'deliveriesPerSecVsWs', 'p99VsWs', 'idleBytesVsWs', 'persistVsOneRowPerTx']) {
      expect(num(json.ratios[key]), key).toBe(true);
    }
    // Search: every case timed for full-text and the ILIKE baseline; rare words find something.
    expect(json.search.messages).toBe(json.config.searchMessages);
    for (const key of ['common', 'rare', 'from'] as const) {
      const c = json.search.cases[key];
      for (const v of [c.p50Ms, c.p99Ms, c.baseline.p50Ms, c.baseline.p99Ms]) expect(num(v) && v > 0, `search ${key} ${JSON.stringify(c)}`).toBe(true);
      expect(c.count, key).toBe(json.config.searchIterations);
    }
    expect(json.search.cases.rare.hitsMedian).toBeGreaterThan(0);
    expect(r.stdout).toContain("| query | full-text p50 (ms) | full-text p99 (ms) | ILIKE '%word%' p50 (ms)");
    expect(json.targets.length).toBeGreaterThanOrEqual(11);
  }, 180_000);
});
