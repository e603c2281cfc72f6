// The metrics operators rely on, checked against running services: admin + 2 chat replicas (real
// processes, Postgres, Redis) are exercised (a login failure, a refused and an accepted upgrade, a
// message sent on one replica and delivered on the other), then scraped. Every metric name the alert
// rules and the Grafana dashboard query must be exported (or come from a named external exporter),
// `_total` series are counters, labels never carry ids, and every Parley series is documented.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { Stack } from '@parley/devtools';
import { chatTokenFor, createChatRoom, createChatUser } from '../packages/devtools/src/chat-fixtures.ts';
import { e2eTest } from './support/fixtures.ts';
import { TestSocket } from './support/ws-client.ts';
import { exportedNames, metricNamesIn } from '../deploy/tests/support/promql.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Series that come from elsewhere, by source: Prometheus itself, the blackbox TLS probe, the NGINX exporter sidecar. */
const EXTERNAL: Record<string, string> = {
  up: 'Prometheus (scrape health)',
  probe_success: 'blackbox exporter (Probe parley-edge-tls)',
  probe_ssl_earliest_cert_expiry: 'blackbox exporter (Probe parley-edge-tls)',
  nginx_up: 'nginx-prometheus-exporter sidecar',
  nginx_connections_active: 'nginx-prometheus-exporter sidecar',
  nginx_http_requests_total: 'nginx-prometheus-exporter sidecar',
};

const test = e2eTest({ label: 'metrics', stack: { chatReplicas: 2 } });
let stack: Stack;
let adminText = '';
let chatTexts: string[] = [];

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line (exact name and label set as exposed), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) ? labels === '' || l.includes(labels) : l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test.beforeAll(async ({ db, stack: s }) => {
  stack = s;
  // A refused login (bad credentials).
  const page = await fetch(`${stack.adminUrl}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const cookie = (page.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const login = await fetch(`${stack.adminUrl}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ _csrf: csrf, email: 'nobody@example.test', password: 'wrong password 123' }) });
  expect(login.status).toBe(401);
  // A refused upgrade (no token) and a message sent on replica 0, delivered on replica 1 via the bus.
  await expect(TestSocket.open(stack.chats[0]!.wsUrl, null)).rejects.toMatchObject({ status: 401 });
  const ann = await createChatUser(db.pool, 'ann');
  const bob = await createChatUser(db.pool, 'bob');
  const room = await createChatRoom(db.pool, { members: [ann, bob] });
  const a = await TestSocket.open(stack.chats[0]!.wsUrl, chatTokenFor(ann, stack.secrets.CHAT_TOKEN_SECRET));
  const b = await TestSocket.open(stack.chats[1]!.wsUrl, chatTokenFor(bob, stack.secrets.CHAT_TOKEN_SECRET));
  for (const s of [a, b]) {
    s.send({ type: 'join', room });
    await s.next('caught_up', (f) => f.room === room);
  }
  a.send({ type: 'send', room, clientId: 'metrics-1', body: 'hello metrics' });
  await a.next('ack', (f) => f.clientId === 'metrics-1');
  await b.next('message', (f) => f.message.clientId === 'metrics-1');
  a.send({ type: 'bogus' });
  await a.next('error');
  adminText = await scrape(stack.adminUrl);
  chatTexts = await Promise.all(stack.chats.map((c) => scrape(c.url)));
  a.close();
  b.close();
});

describe('metrics exported by the running services', () => {
  it('every metric the alert rules and the dashboard query is exported by admin or chat (or a named external exporter)', () => {
    const exported = new Set([...exportedNames(adminText), ...chatTexts.flatMap((t) => [...exportedNames(t)])]);
    const rules = parse(readFileSync(resolve(ROOT, 'deploy/monitoring/rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const dashboard = JSON.parse(readFileSync(resolve(ROOT, 'deploy/monitoring/dashboards/parley-overview.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const queries = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr }))),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ];
    expect(queries.length).toBeGreaterThan(40);
    const missing: string[] = [];
    let checked = 0;
    for (const q of queries) {
      const names = metricNamesIn(q.expr);
      expect(names.length, `${q.where} selects a metric: ${q.expr}`).toBeGreaterThan(0);
      for (const name of names) {
        checked++;
        if (!exported.has(name) && !(name in EXTERNAL)) missing.push(`${q.where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(60);
    // The lexer itself finds names (and so could find a missing one).
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(parley_nope_seconds_bucket{job="chat"}[5m]))) > 0.25')).toEqual(['parley_nope_seconds_bucket']);
  });

  it('records what happened: the login failure, the refused and accepted upgrades, the send→ack, commit and bus lag', () => {
    expect(sample(adminText, 'parley_admin_login_failures_total', 'reason="bad_credentials"')).toBe(1);
    expect(sample(adminText, 'parley_http_request_duration_seconds_count', 'route="/login",method="POST",status_class="4xx"')).toBe(1);
    expect(sample(adminText, 'parley_admin_session_store_operations_total', 'op="ping",outcome="ok"')).toBeGreaterThan(0);
    const [c0, c1] = chatTexts as [string, string];
    expect(sample(c0, 'parley_chat_upgrades_total', 'outcome="unauthenticated"')).toBe(1);
    expect(sample(c0, 'parley_chat_upgrades_total', 'outcome="accepted"')).toBe(1);
    expect(sample(c0, 'parley_chat_send_ack_seconds_count')).toBe(1);
    expect(sample(c0, 'parley_chat_messages_stored_total')).toBe(1);
    expect(sample(c0, 'parley_chat_write_batch_messages_count')).toBe(1);
    expect(sample(c0, 'parley_chat_write_batches_total')).toBe(1);
    expect(sample(c0, 'parley_chat_frames_rejected_total', 'code="unknown_type"')).toBe(1);
    expect(sample(c1, 'parley_chat_bus_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    // Delivered through the bus (not repaired from Postgres): fan-out latency by path on each side.
    expect(sample(c0, 'parley_chat_fanout_seconds_count', 'path="local"')).toBe(1);
    expect(sample(c1, 'parley_chat_fanout_seconds_count', 'path="remote"')).toBe(1);
    expect(sample(c1, 'parley_chat_fanout_seconds_count', 'path="repair"')).toBe(0);
    expect(sample(c1, 'parley_chat_bus_events_received_total', 'kind="msgs"')).toBe(1);
    expect(sample(c0, 'parley_chat_frames_total', 'type="send",outcome="ok"')).toBe(1);
    expect(sample(c0, 'parley_chat_resume_seconds_count')).toBe(1);
    expect(sample(c1, 'parley_chat_bus_up')).toBe(1);
    expect(sample(c1, 'parley_dependency_up', 'dependency="postgres"')).toBe(1);
    // Tracing is off without OTEL_EXPORTER_OTLP_ENDPOINT: no trace ids anywhere (e2e/tracing.spec.ts has it on).
    expect(stack.logs()).not.toContain('trace_id');
    for (const text of [adminText, c0]) {
      expect(sample(text, 'parley_db_pool_max')).toBeGreaterThan(0);
      expect(sample(text, 'parley_db_pool_connections', 'state="total"')).toBeGreaterThan(0);
      expect(sample(text, 'parley_ready')).toBe(1);
    }
  });

  it('Parley `_total` series are counters, Parley labels are bounded (no ids), every Parley family is documented', () => {
    const ops = readFileSync(resolve(ROOT, 'docs/operations.md'), 'utf8');
    for (const text of [adminText, ...chatTexts]) {
      for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
        if (!name!.startsWith('parley_')) continue; // prom-client's defaults are not ours (nodejs_active_resources_total is its gauge)
        if (name!.endsWith('_total')) expect(kind, name).toBe('counter');
        if (kind === 'gauge') expect(name, 'a gauge is not named like a counter').not.toMatch(/_total$/);
        expect(ops, `docs/operations.md documents ${name}`).toContain(`\`${name}\``);
      }
      for (const line of text.split('\n').filter((l) => l.startsWith('parley_'))) {
        const labels = [...(/\{([^}]*)\}/.exec(line)?.[1] ?? '').matchAll(/(\w+)="/g)].map((m) => m[1]!);
        for (const label of labels) expect(['service', 'replica', 'route', 'method', 'status_class', 'outcome', 'type', 'code', 'path', 'kind', 'client', 'state', 'dependency', 'reason', 'op', 'le'], `${label} in ${line}`).toContain(label);
      }
    }
  });
});
