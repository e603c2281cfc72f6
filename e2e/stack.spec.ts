// `npm run stack` end to end: the real launcher (dist/stack.js) on free ports with its own Postgres,
// Redis, 2 admin + 2 chat replicas and NGINX; the edge's behaviour over HTTPS; two people in two Chromium
// contexts chatting live over WSS; its Prometheus showing every replica up and the send→ack histogram
// after a message; one request id followed through edge, admin and chat in the one log stream; and a
// clean stop on SIGINT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { freePort, waitForPortFree } from '@parley/devtools';
import { launchBrowser, screenshot, signUp } from './support/browser.ts';
import { newUser } from './support/http.ts';
import { waitFor } from './support/ws-client.ts';

const ROOT = resolve(import.meta.dirname, '..');
let stack: ChildProcess;
let browser: Browser | undefined;
let httpsPort = 0;
let httpPort = 0;
let dataDir = '';
let launcherOutput = '';
let base = '';
let prometheusPort = 0;
/** A small OTLP/HTTP receiver: the stack's services export their spans here (OTEL_EXPORTER_OTLP_ENDPOINT). */
let otlp: Server | undefined;
const spans: Array<{ service: string; traceId: string; name: string }> = [];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const agent = new Agent({ rejectUnauthorized: false });

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }
function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: opts.method ?? 'GET', headers: opts.headers, ...(u.protocol === 'https:' ? { agent } : {}), timeout: 10_000 });
  return new Promise((res, rej) => {
    req.on('response', (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

beforeAll(async () => {
  httpsPort = await freePort();
  httpPort = await freePort();
  prometheusPort = await freePort();
  const otlpPort = await freePort();
  otlp = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { resourceSpans?: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ traceId: string; name: string }> }> }> };
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, traceId: s.traceId, name: s.name });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => otlp!.listen(otlpPort, '127.0.0.1', r));
  dataDir = mkdtempSync(join(tmpdir(), 'parley-stack-'));
  base = `https://localhost:${httpsPort}`;
  stack = spawn(process.execPath, [join(ROOT, 'dist/stack.js')], {
    cwd: ROOT,
    env: { ...process.env, STACK_HTTPS_PORT: String(httpsPort), STACK_HTTP_PORT: String(httpPort), STACK_DATA_DIR: dataDir, STACK_PROMETHEUS_PORT: String(prometheusPort), STACK_QUIET: '1', LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`, OTEL_BSP_SCHEDULE_DELAY: '100' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  stack.stderr!.on('data', (b: Buffer) => { launcherOutput += b.toString(); });
  const deadline = Date.now() + 90_000;
  while (!launcherOutput.includes('Parley is running')) {
    if (stack.exitCode !== null) throw new Error(`stack exited (${stack.exitCode}):\n${launcherOutput}`);
    if (Date.now() > deadline) throw new Error(`stack did not start within 90 s:\n${launcherOutput}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  agent.destroy();
  if (stack && stack.exitCode === null) {
    const exited = new Promise((r) => stack.once('exit', r));
    stack.kill('SIGINT');
    const timer = setTimeout(() => stack.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((r) => otlp?.close(r));
}, 60_000);

describe('npm run stack (NGINX + 2 admin + 2 chat + Postgres + Redis)', () => {
  it('shows its progress and prints where to go', () => {
    expect(launcherOutput).toMatch(/\(1\/9\) starting PostgreSQL/);
    expect(launcherOutput).toMatch(/\(9\/9\) starting Prometheus/);
    expect(launcherOutput).toContain(`Prometheus:      http://127.0.0.1:${prometheusPort}`);
    expect(launcherOutput).toContain(`${dataDir}/logs/stack.log`);
    expect(launcherOutput).toMatch(/one request: .*X-Request-Id/);
    expect(launcherOutput).toContain(`Parley is running: https://localhost:${httpsPort}`);
    expect(launcherOutput).toContain(`wss://localhost:${httpsPort}/socket`);
    expect(launcherOutput).toMatch(/2 admin \(\d+, \d+\), 2 chat \(\d+, \d+\)/);
  });

  it('nginx -t accepts the config rendered from deploy/nginx/parley.conf.template', () => {
    const conf = join(dataDir, 'edge/nginx.conf');
    const r = spawnSync('nginx', ['-t', '-e', 'stderr', '-p', join(dataDir, 'edge'), '-c', conf], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('test is successful');
    expect(readFileSync(conf, 'utf8')).not.toMatch(/\$\{[A-Z_]+\}/);
  });

  it('terminates TLS 1.2/1.3 only, sends HSTS and a request id, redirects HTTP, blocks internal paths', async () => {
    const login = await get(`${base}/login`);
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toBe('max-age=63072000');
    expect(login.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    const passed = await get(`${base}/login`, { headers: { 'x-request-id': 'e2e-request-1234' } });
    expect(passed.headers['x-request-id']).toBe('e2e-request-1234');

    const redirect = await get(`http://127.0.0.1:${httpPort}/rooms?x=1`, { headers: { host: 'localhost' } });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://localhost:${httpsPort}/rooms?x=1`);
    expect((await get(`http://127.0.0.1:${httpPort}/edge-healthz`)).status).toBe(200);
    expect((await get(`${base}/edge-healthz`)).body).toBe('ok\n');

    for (const path of ['/internal/stats', '/internal/kick', '/metrics', '//internal/stats', '/%69nternal/stats', '/x/../internal/stats']) {
      expect((await get(`${base}${path}`)).status, path).toBe(404);
    }
    expect((await get(`${base}/internal/kick`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"userId":1}') })).status).toBe(404);

    const gz = await get(`${base}/static/style.css`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');

    const big = await get(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.alloc(2 * 1024 * 1024, 97) });
    expect(big.status).toBe(413);

    const negotiated = (maxVersion: 'TLSv1.2' | 'TLSv1.3') => new Promise<{ protocol: string | null; cipher: string }>((res, rej) => {
      const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: 'localhost', rejectUnauthorized: false, maxVersion }, () => {
        res({ protocol: s.getProtocol(), cipher: s.getCipher().name });
        s.end();
      });
      s.on('error', rej);
    });
    expect((await negotiated('TLSv1.3')).protocol).toBe('TLSv1.3');
    const v12 = await negotiated('TLSv1.2');
    expect(v12.protocol).toBe('TLSv1.2');
    expect(v12.cipher).toMatch(/^ECDHE-(RSA|ECDSA)-(AES\d+-GCM|CHACHA20-POLY1305)/);
  });

  it('reloads gracefully (SIGHUP): same master, new workers, still serving', async () => {
    const pid = Number(readFileSync(join(dataDir, 'edge/run/nginx.pid'), 'utf8').trim());
    const workers = () => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).sort();
    const before = workers();
    expect(before.length).toBeGreaterThan(0);
    process.kill(pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && workers().some((w) => before.includes(w))) await new Promise((r) => setTimeout(r, 100));
    expect(workers().some((w) => before.includes(w)), 'old workers replaced').toBe(false);
    expect(Number(readFileSync(join(dataDir, 'edge/run/nginx.pid'), 'utf8').trim())).toBe(pid);
    expect((await get(`${base}/edge-healthz`)).status).toBe(200);
  });

  it('two people sign up over HTTPS and chat live over WSS through the edge', async () => {
    const ann = newUser('ann');
    const bob = newUser('bob');
    const annCtx = await browser!.newContext({ ignoreHTTPSErrors: true });
    const bobCtx = await browser!.newContext({ ignoreHTTPSErrors: true });
    try {
      const annPage = await annCtx.newPage();
      const bobPage = await bobCtx.newPage();
      const sockets: string[] = [];
      annPage.on('websocket', (ws) => sockets.push(ws.url()));
      await signUp(annPage, base, ann);
      await signUp(bobPage, base, bob);
      const cookie = (await annCtx.cookies()).find((c) => c.httpOnly && c.name !== 'parley_csrf');
      expect(cookie?.secure, 'session cookie is Secure behind the TLS edge (TRUST_PROXY)').toBe(true);

      await annPage.goto(`${base}/rooms`);
      await annPage.fill('#name', 'Edge room');
      await Promise.all([annPage.waitForURL(/\/rooms\/\d+$/), annPage.click('form[action="/rooms"] button[type=submit]')]);
      await bobPage.goto(annPage.url());
      await annPage.locator('#conn-state[data-state=open]').waitFor({ timeout: 15_000 });
      await bobPage.locator('#conn-state[data-state=open]').waitFor({ timeout: 15_000 });
      expect(sockets[0]).toBe(`wss://localhost:${httpsPort}/socket`);

      await annPage.fill('#message-input', 'Hello over WSS');
      await annPage.press('#message-input', 'Enter');
      await bobPage.locator('#messages li[data-seq] .body', { hasText: 'Hello over WSS' }).waitFor({ timeout: 10_000 });
      await bobPage.fill('#message-input', 'Hi Ann, through NGINX');
      await bobPage.press('#message-input', 'Enter');
      await annPage.locator('#messages li[data-seq] .body', { hasText: 'Hi Ann, through NGINX' }).waitFor({ timeout: 10_000 });
      await screenshot(annPage, 'stack-live-chat');
    } finally {
      await annCtx.close();
      await bobCtx.close();
    }
  });

  it('Prometheus scrapes every admin and chat replica (up) and has send→ack data after the chat', async () => {
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      expect(body.status).toBe('success');
      return body.data.result;
    };
    const deadline = Date.now() + 30_000;
    let up: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    let acks: typeof up = [];
    let p99: typeof up = [];
    // Scrapes run every 5 s: wait for one after the chat above. The quantile is over the histogram since
    // start: increase() would stay 0 (NaN quantile) when the first scrape already saw every send.
    while (Date.now() < deadline) {
      up = await query('up{job=~"admin|chat"}');
      acks = await query('sum(parley_chat_send_ack_seconds_count)');
      p99 = await query('histogram_quantile(0.99, sum by (le) (parley_chat_send_ack_seconds_bucket))');
      if (up.length === 4 && up.every((r) => r.value[1] === '1') && Number(acks[0]?.value[1] ?? 0) >= 2 && Number(p99[0]?.value[1]) > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(up.map((r) => `${r.metric.job} ${r.value[1]}`).sort()).toEqual(['admin 1', 'admin 1', 'chat 1', 'chat 1']);
    expect(Number(acks[0]?.value[1])).toBeGreaterThanOrEqual(2);
    expect(Number(p99[0]?.value[1])).toBeGreaterThan(0);
    const rules = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
    expect(rules.data.groups.flatMap((g) => g.rules).length).toBe(15);
  });

  it('one request id and one trace id can be followed through edge, admin and chat in the one tagged log stream', async () => {
    // The first admin opens the dashboard with a request id and a traceparent of our choosing: the edge
    // logs both, admin logs them and passes them to chat's internal API (replica stats), which logs them.
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    const jar = new Map<string, string>();
    const keep = (r: Reply) => {
      for (const c of [r.headers['set-cookie'] ?? []].flat()) {
        const [pair] = c.split(';');
        jar.set(pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1));
      }
      return r;
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const form = keep(await get(`${base}/login`));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const login = keep(await get(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
      body: Buffer.from(new URLSearchParams({ _csrf: csrf, email: secrets.PARLEY_ADMIN_EMAIL!, password: secrets.PARLEY_ADMIN_PASSWORD! }).toString()),
    }));
    expect(login.status, login.body.slice(0, 300)).toBe(303);
    const dashboard = await get(`${base}/admin/dashboard`, { headers: { cookie: cookie(), accept: 'text/html', 'x-request-id': 'e2e-follow-me-1', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } });
    expect(dashboard.status).toBe(200);
    const file = join(dataDir, 'logs/stack.log');
    let lines: string[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('e2e-follow-me-1'));
      if (['edge', 'admin', 'chat'].every((p) => lines.some((l) => l.startsWith(`${p}-`) || l.startsWith(`${p} |`)))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(lines.some((l) => /^edge \| .*GET \/admin\/dashboard .*rid=e2e-follow-me-1/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^admin-\d \| \{.*"reqId":"e2e-follow-me-1"/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^chat-\d \| \{.*"reqId":"e2e-follow-me-1".*"route":"\/internal\/stats"/.test(l)), lines.join('\n')).toBe(true);
    // The same request by its trace id: the edge logs the traceparent it forwarded, admin and chat put
    // trace_id on every line of the request, and both exported their spans of that trace.
    expect(lines.some((l) => l.startsWith('edge | ') && l.includes(`tp="00-${TRACE_ID}-`)), lines.join('\n')).toBe(true);
    const services = lines.filter((l) => /^(admin|chat)-\d \| \{/.test(l));
    expect(services.length).toBeGreaterThanOrEqual(3);
    for (const l of services) expect(l, 'every admin/chat line of the request carries the trace id').toContain(`"trace_id":"${TRACE_ID}"`);
    await waitFor(() => ['parley-admin', 'parley-chat'].every((s) => spans.some((x) => x.service === s && x.traceId === TRACE_ID)), 'spans of the trace from admin and chat', 10_000);
  });

  it('stops everything cleanly on SIGINT', async () => {
    const exited = new Promise<number | null>((r) => stack.once('exit', (code) => r(code)));
    stack.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 40_000))]);
    expect(code).toBe(0);
    expect(launcherOutput).toContain('[stack] stopped');
    await waitForPortFree(httpsPort, 10_000);
    await waitForPortFree(httpPort, 10_000);
    const left = spawnSync('sh', ['-c', `ps -eo args | grep -F ${JSON.stringify(dataDir)} | grep -v grep || true`], { encoding: 'utf8' }).stdout.trim();
    expect(left, 'no process of the stack is left').toBe('');
  }, 60_000);
});
