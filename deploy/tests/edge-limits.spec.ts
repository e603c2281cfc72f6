// The edge template run for real: NGINX with the rendered deploy/nginx/parley.conf.template in front of
// stand-in admin and chat servers (the apps' own limits are tested with the apps). Shows limit_req on
// login/sign-up posts and WebSocket upgrades, limit_conn on open sockets per IP, the one 429 answer,
// and that X-Request-Id is kept only when short and well-formed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { renderEdgeConfig, upstreamServers } from '../nginx/render.ts';
import { freePort, waitForHttp } from '@parley/devtools';
import { adminConfigSchema } from '../../apps/admin/src/config.ts';

let dir: string;
let nginx: ChildProcess;
let admin: Server;
let chat: Server;
let chatWss: WebSocketServer;
let httpsPort = 0;
const seenByAdmin: { url: string; method: string; requestId: string }[] = [];
const openSockets: WebSocket[] = [];
const WS_PER_IP = 20;
const agent = new Agent({ rejectUnauthorized: false, keepAlive: false });

function listen(server: Server, port: number) {
  return new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-edge-run-'));
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=localhost', '-keyout', key, '-out', cert, '-days', '1'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);

  const adminPort = await freePort();
  const chatPort = await freePort();
  admin = createServer((req: IncomingMessage, res) => {
    seenByAdmin.push({ url: req.url ?? '', method: req.method ?? '', requestId: String(req.headers['x-request-id'] ?? '') });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('admin ok\n');
    });
  });
  chat = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  chatWss = new WebSocketServer({ server: chat, path: '/socket' });
  await listen(admin, adminPort);
  await listen(chat, chatPort);

  httpsPort = await freePort();
  const httpPort = await freePort();
  const runtime = join(dir, 'run');
  mkdirSync(runtime);
  const conf = renderEdgeConfig({
    EDGE_RUNTIME_DIR: runtime,
    EDGE_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    EDGE_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    EDGE_HTTPS_REDIRECT_PORT: `:${httpsPort}`,
    ADMIN_SERVERS: upstreamServers([`127.0.0.1:${adminPort}`]),
    CHAT_SERVERS: upstreamServers([`127.0.0.1:${chatPort}`]),
    TLS_CERT: cert,
    TLS_KEY: key,
    EDGE_ACCESS_LOG: join(dir, 'access.log'),
    EDGE_ERROR_LOG: join(dir, 'error.log'),
  })
    .replace('worker_processes auto;', 'worker_processes 1;') // the zones are shared by workers anyway; keep the test light
    // Open sockets per IP: 100 in production; 20 here, so they open within the upgrade burst (30).
    .replace('limit_conn parley_ws_conn 100;', `limit_conn parley_ws_conn ${WS_PER_IP};`);
  expect(conf).toContain(`limit_conn parley_ws_conn ${WS_PER_IP};`);
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const check = spawnSync('nginx', ['-t', '-q', '-e', 'stderr', '-p', dir, '-c', confFile], { encoding: 'utf8' });
  expect(check.status, check.stderr).toBe(0);
  nginx = spawn('nginx', ['-e', 'stderr', '-p', dir, '-c', confFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForHttp(`http://127.0.0.1:${httpPort}/edge-healthz`, { timeoutMs: 15_000 });
});

afterAll(async () => {
  for (const ws of openSockets) ws.terminate();
  if (nginx?.pid) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGQUIT');
    await exited;
  }
  chatWss?.close();
  await new Promise((resolve) => admin?.close(resolve));
  await new Promise((resolve) => chat?.close(resolve));
  agent.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpsPort, method, path, agent, servername: 'localhost', headers: { host: 'localhost', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

function expectTooMany(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.headers['retry-after']).toBe('60');
  expect(answer.body).toBe('Too many requests from your network. Try again in a minute.\n');
  expect(answer.headers['strict-transport-security']).toBeTruthy();
  expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
}

function upgrade(localAddress = '127.0.0.1'): Promise<{ ws: WebSocket } | { status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${httpsPort}/socket`, { agent, localAddress, rejectUnauthorized: false, headers: { origin: `https://localhost:${httpsPort}` } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    ws.once('error', reject);
  });
}

describe('edge limits (real NGINX)', () => {
  it('limits login posts per IP (burst 10 + rate), not the login page, with one 429 answer', async () => {
    const pages = await Promise.all(Array.from({ length: 25 }, () => call('GET', '/login')));
    expect(pages.every((p) => p.status === 200)).toBe(true);
    const posts: Answer[] = [];
    for (let i = 0; i < 20; i++) posts.push(await call('POST', '/login', form, 'email=a%40b.test&password=x'));
    const passed = posts.filter((p) => p.status === 200).length;
    // burst=10 plus the one the rate allows at once; a slow run may earn one or two more.
    expect(passed).toBeGreaterThanOrEqual(11);
    expect(passed).toBeLessThan(15);
    expectTooMany(posts.at(-1)!);
    expect(seenByAdmin.filter((r) => r.method === 'POST' && r.url === '/login')).toHaveLength(passed);
  });

  it('limits sign-up posts per IP (burst 5 + rate)', async () => {
    const posts: Answer[] = [];
    for (let i = 0; i < 12; i++) posts.push(await call('POST', '/signup', form, 'email=a%40b.test'));
    const passed = posts.filter((p) => p.status === 200).length;
    expect(passed).toBeGreaterThanOrEqual(6);
    expect(passed).toBeLessThan(9);
    expectTooMany(posts.at(-1)!);
  });

  it('limits open WebSockets per IP (limit_conn)', async () => {
    for (let i = 0; i < WS_PER_IP; i++) {
      const r = await upgrade('127.0.0.2');
      if (!('ws' in r)) throw new Error(`socket ${i} refused: HTTP ${r.status}`);
      openSockets.push(r.ws);
    }
    const extra = await upgrade('127.0.0.2');
    expect('ws' in extra ? 'opened' : extra.status).toBe(429);
    if (!('ws' in extra)) expect(extra.body).toBe('Too many requests from your network. Try again in a minute.\n');
    expect(readFileSync(join(dir, 'error.log'), 'utf8')).toMatch(/limiting connections by zone "parley_ws_conn", client: 127\.0\.0\.2/);
    // Another address is not affected.
    const other = await upgrade('127.0.0.3');
    expect('ws' in other).toBe(true);
    if ('ws' in other) other.ws.close();
  });

  it('limits new WebSocket upgrades per IP (limit_req: burst 30 + rate)', async () => {
    const outcomes: (number | 'open')[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await upgrade('127.0.0.4');
      if ('ws' in r) {
        outcomes.push('open');
        r.ws.terminate(); // closed at once: only the rate of upgrades counts here
      } else outcomes.push(r.status);
    }
    const opened = outcomes.filter((o) => o === 'open').length;
    expect(opened).toBeGreaterThanOrEqual(31);
    expect(opened).toBeLessThan(36);
    expect(outcomes.at(-1)).toBe(429);
    expect(readFileSync(join(dir, 'error.log'), 'utf8')).toMatch(/limiting requests, excess: .* by zone "parley_upgrade", client: 127\.0\.0\.4/);
  });

  it('keeps a client X-Request-Id only when short and well-formed; never logs a long one', async () => {
    const good = 'client-id_1.A';
    const ok = await call('GET', '/rooms', { 'x-request-id': good });
    expect(ok.headers['x-request-id']).toBe(good);
    expect(seenByAdmin.at(-1)?.requestId).toBe(good);
    const huge = 'x'.repeat(6000);
    for (const bad of [huge, 'a'.repeat(65), 'has space', 'quote"d', '']) {
      const res = await call('GET', '/rooms', { 'x-request-id': bad });
      expect(res.headers['x-request-id'], bad.slice(0, 20)).toMatch(/^[0-9a-f]{32}$/);
      expect(seenByAdmin.at(-1)?.requestId).toBe(res.headers['x-request-id']);
    }
    expect((await call('GET', '/rooms', { 'x-request-id': 'a'.repeat(64) })).headers['x-request-id']).toBe('a'.repeat(64));
    // Access log lines are written when the request ends; the last one is there by now.
    const log = readFileSync(join(dir, 'access.log'), 'utf8');
    expect(log).toContain(`rid=${good} `);
    expect(log).not.toContain('x'.repeat(65));
    expect(log).not.toContain('has space');
    const longestLine = Math.max(...log.split('\n').map((l) => l.length));
    expect(longestLine).toBeLessThan(1000);
  });

  it('cuts the logged User-Agent to 256 characters', async () => {
    await call('GET', '/rooms', { 'user-agent': `UA-${'u'.repeat(3000)}` });
    // NGINX writes the access line as the request ends, which can be just after the client has its answer.
    const findLine = () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').find((l) => l.includes('ua="UA-'));
    await expect.poll(findLine).toBeDefined();
    const line = findLine()!;
    expect(line).toContain(`ua="UA-${'u'.repeat(253)}"`);
  });
  it("lets attachment uploads up to admin's default ATTACHMENT_MAX_BYTES through, and only on the upload route", async () => {
    const body = 'x'.repeat(adminConfigSchema.shape.ATTACHMENT_MAX_BYTES.parse(undefined));
    const upload = await call('POST', '/api/rooms/7/attachments', { 'content-type': 'application/octet-stream' }, body);
    expect(upload.status).toBe(200);
    expect(seenByAdmin.at(-1)).toMatchObject({ url: '/api/rooms/7/attachments', method: 'POST' });
    const elsewhere = await call('POST', '/rooms', { 'content-type': 'application/octet-stream' }, 'x'.repeat(2 * 1024 * 1024));
    expect(elsewhere.status).toBe(413);
    const lookalike = await call('POST', '/api/rooms/7/attachments/extra', { 'content-type': 'application/octet-stream' }, 'x'.repeat(2 * 1024 * 1024));
    expect(lookalike.status).toBe(413);
  });
});
