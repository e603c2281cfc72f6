// Alerts as code: promtool accepts the rules, every alert has a unit test that passes (quiet before its
// `for`, firing after it, with its labels and rendered annotations), every alert carries runbook text,
// and the PrometheusRule for Prometheus Operator users is exactly the plain rules file.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const DIR = resolve(import.meta.dirname, '../monitoring');
const rules = parse(readFileSync(resolve(DIR, 'rules.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }> };
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (npm test installs Debian's prometheus package; or apt-get install -y prometheus): ${r.error.message}`);
  return r;
}

describe('alert rules (deploy/monitoring/rules.yml)', () => {
  it('promtool check rules accepts the file', () => {
    const r = promtool('check', 'rules', 'rules.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('promtool test rules passes, and every alert has a test that expects it to fire and to be quiet', () => {
    const tests = parse(readFileSync(resolve(DIR, 'rules.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert.alert);
      expect(own.some((c) => c.exp_alerts.length > 0), `${alert.alert} has a firing case`).toBe(true);
      expect(own.some((c) => c.exp_alerts.length === 0), `${alert.alert} has a quiet case`).toBe(true);
    }
    const r = promtool('test', 'rules', 'rules.test.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('a broken expectation makes promtool fail (the tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-rules-'));
    try {
      copyFileSync(resolve(DIR, 'rules.yml'), join(dir, 'rules.yml'));
      writeFileSync(join(dir, 'broken.yml'), readFileSync(resolve(DIR, 'rules.test.yml'), 'utf8').replace('severity: critical', 'severity: page'));
      const r = spawnSync('promtool', ['test', 'rules', 'broken.yml'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('FAILED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a severity, a summary, runbook text and a runbook link to its section in docs/operations.md', () => {
    const ops = readFileSync(resolve(DIR, '../../docs/operations.md'), 'utf8');
    for (const alert of alerts) {
      expect(['warning', 'critical'], alert.alert).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary, alert.alert).toBeTruthy();
      expect(alert.annotations?.runbook?.length ?? 0, alert.alert).toBeGreaterThan(30);
      const anchor = alert.alert!.toLowerCase();
      expect(alert.annotations?.runbook_url, alert.alert).toMatch(new RegExp(`docs/operations\\.md#${anchor}$`));
      expect(ops, `docs/operations.md has a "### ${alert.alert}" section`).toContain(`### ${alert.alert}\n`);
    }
  });

  it('prometheusrule.yaml is rules.yml wrapped in a PrometheusRule (node deploy/monitoring/sync.mjs)', () => {
    const resource = parse(readFileSync(resolve(DIR, 'prometheusrule.yaml'), 'utf8')) as { apiVersion: string; kind: string; spec: unknown };
    expect(resource.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.spec, 'out of date: run node deploy/monitoring/sync.mjs').toEqual(rules);
  });
});
