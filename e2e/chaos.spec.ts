// `npm run chaos`, short: the real tool (dist/chaos.js) with its own Postgres, Redis, 3 chat replicas
// and admin, every fault of the schedule (network cut after a send, kill -9, rolling SIGTERM, Redis
// stopped with a ban meanwhile, Postgres restart, Postgres stopped 10 s) under steady traffic. The
// report must be clean. And the checker must be able to fail: clients that resend with a new client id
// (broken idempotency) after a network cut make the same tool report duplicates and exit non-zero.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChaosReport } from '../scripts/chaos/run.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'parley-chaos-spec-'));

function chaos(args: string[]): Promise<{ code: number | null; report: ChaosReport; stdout: string; stderr: string }> {
  const json = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'dist/chaos.js'), ...args, '--json', json], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', rej);
    child.once('exit', (code) => {
      try {
        res({ code, report: JSON.parse(readFileSync(json, 'utf8')) as ChaosReport, stdout, stderr });
      } catch (err) {
        rej(new Error(`chaos exited ${code} without a report: ${(err as Error).message}\n${stderr.slice(-3000)}`));
      }
    });
  });
}

describe('npm run chaos (short)', () => {
  let run: Awaited<ReturnType<typeof chaos>>;
  beforeAll(async () => {
    run = await chaos(['--clients', '30', '--duration', '60']);
  }, 400_000);

  it('runs the whole schedule under traffic and prints the figures', () => {
    expect(run.report.schedule.map((s) => s.step)).toEqual(['netcut', 'kill9', 'rolling', 'redis', 'pg-restart', 'pg-stop']);
    expect(run.report.messages.sent).toBeGreaterThan(500);
    expect(run.report.messages.reconnects).toBeGreaterThanOrEqual(30); // the network cut alone
    expect(run.stdout).toMatch(/lost 0, duplicated 0, reordered 0/);
    expect(run.stderr).toMatch(/step pg-stop/); // progress on stderr
  });

  it('loses, duplicates and reorders nothing; no process crashes; every client caught up', () => {
    const m = run.report.messages;
    expect({ lost: m.lost, duplicated: m.duplicated, reordered: m.reordered, mismatched: m.mismatched, examples: m.examples })
      .toEqual({ lost: 0, duplicated: 0, reordered: 0, mismatched: 0, examples: [] });
    expect(m.stored).toBe(m.sent);
    expect(run.report.crashes).toEqual([]);
    expect(run.report.settled).toBe(true);
  });

  it('Postgres stopped 10 s: every chat replica and admin is not ready meanwhile and ready again after', () => {
    const services = run.report.readiness.map((r) => r.service).sort();
    expect(services).toEqual(['admin', 'chat-0', 'chat-1', 'chat-2']);
    for (const r of run.report.readiness) {
      expect(r.notReadyDuringOutage, r.service).toBe(true);
      expect(r.readyAgainAfterMs, r.service).not.toBeNull();
    }
  });

  it('a ban committed while Redis is down closes the user\'s socket on every replica with 4001 within 3 s', () => {
    expect(run.report.control).toHaveLength(1);
    for (const r of run.report.control[0]!.replicas) expect(r, r.replica).toMatchObject({ applied: true, code: 4001 });
    expect(run.code).toBe(0);
    expect(run.report.ok).toBe(true);
  });
});

describe('npm run chaos can fail', () => {
  it('clients that resend with a new client id after a network cut: duplicates reported, exit code 1', async () => {
    const broken = await chaos(['--clients', '10', '--duration', '6', '--steps', 'netcut', '--break-idempotency']);
    expect(broken.report.messages.duplicated).toBeGreaterThan(0);
    expect(broken.report.ok).toBe(false);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/FAIL:[\s\S]*duplicate/);
  }, 300_000);
});
