// The edge template: strict rendering, NGINX's own `nginx -t` accepts it with the values the Kubernetes
// edge Deployment sets (only host-specific paths, ports and upstream hosts swapped for local ones), the
// security-relevant directives are present, and nginx -t does fail when the rendered config is broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_TEMPLATE, EDGE_VARIABLES, placeholdersOf, renderEdgeConfig, type EdgeVariables } from '../nginx/render.ts';
import { kustomize, scratchCopy } from './support/manifests.ts';
import { missingPrerequisite } from '@parley/devtools';

const template = readFileSync(EDGE_TEMPLATE, 'utf8');
let dir: string;
let cert: string;
let key: string;
const k8sEnv: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-edge-'));
  cert = join(dir, 'tls.crt');
  key = join(dir, 'tls.key');
  const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=localhost', '-keyout', key, '-out', cert, '-days', '1'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const scratch = scratchCopy();
  try {
    const edge = kustomize(join(scratch.dir, 'k8s/overlays/production')).objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'edge')!;
    for (const e of edge.spec.template.spec.containers[0].env) k8sEnv[e.name] = e.value;
  } finally {
    scratch.cleanup();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function localise(vars: Record<string, string>, name: string): EdgeVariables {
  const runtime = join(dir, name);
  mkdirSync(runtime, { recursive: true });
  return {
    ...(vars as EdgeVariables),
    EDGE_RUNTIME_DIR: runtime,
    EDGE_HTTP_LISTEN: '127.0.0.1:1', // never bound by nginx -t
    EDGE_HTTPS_LISTEN: '127.0.0.1:2',
    ADMIN_SERVERS: vars.ADMIN_SERVERS!.replace(/admin(?=:)/g, '127.0.0.1'),
    CHAT_SERVERS: vars.CHAT_SERVERS!.replace(/chat(?=:)/g, '127.0.0.1'),
    TLS_CERT: cert,
    TLS_KEY: key,
    EDGE_ACCESS_LOG: join(runtime, 'access.log'),
  };
}

function nginxTest(conf: string, name: string) {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  return spawnSync('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', file], { encoding: 'utf8' });
}

describe('edge template (deploy/nginx/parley.conf.template)', () => {
  it('uses exactly the documented placeholders, and the Kubernetes edge sets each of them', () => {
    expect(placeholdersOf(template)).toEqual([...EDGE_VARIABLES].sort());
    for (const v of EDGE_VARIABLES) expect(k8sEnv, v).toHaveProperty(v);
    expect(new RegExp(k8sEnv.NGINX_ENVSUBST_FILTER!).test('EDGE_RUNTIME_DIR')).toBe(true);
    for (const v of EDGE_VARIABLES) expect(new RegExp(k8sEnv.NGINX_ENVSUBST_FILTER!).test(v), v).toBe(true);
    expect(new RegExp(k8sEnv.NGINX_ENVSUBST_FILTER!).test('HOSTNAME')).toBe(false);
  });

  it('refuses to render with a variable missing or an unknown placeholder', () => {
    const vars = localise(k8sEnv, 'strict');
    const missing = { ...vars } as Partial<EdgeVariables>;
    delete missing.TLS_CERT;
    expect(() => renderEdgeConfig(missing as EdgeVariables, template)).toThrow(/TLS_CERT is not set/);
    expect(() => renderEdgeConfig(vars, `${template}\n# \${SURPRISE}\n`)).toThrow(/unknown placeholder.*SURPRISE/);
  });

  it('renders exactly like the official image\'s envsubst step does in Kubernetes', (ctx) => {
    if (spawnSync('sh', ['-c', 'command -v envsubst']).status !== 0) {
      return missingPrerequisite(ctx, 'envsubst comparison: envsubst (Debian package gettext-base) is not installed');
    }
    // 20-envsubst-on-templates.sh: defined_envs = every environment name matching NGINX_ENVSUBST_FILTER.
    const env = { PATH: process.env.PATH ?? '', HOSTNAME: 'edge-7d9f', HOME: '/root', ...k8sEnv };
    const filter = new RegExp(k8sEnv.NGINX_ENVSUBST_FILTER!);
    const defined = Object.keys(env).filter((n) => filter.test(n)).map((n) => `\${${n}}`).join(' ');
    const r = spawnSync('envsubst', [defined], { input: template, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(renderEdgeConfig(k8sEnv as EdgeVariables, template));
  });

  it('nginx -t accepts it with the Kubernetes edge Deployment\'s values', () => {
    const r = nginxTest(renderEdgeConfig(localise(k8sEnv, 'k8s'), template), 'k8s');
    expect(r.status, r.stderr).toBe(0);
  });

  it('nginx -t rejects a broken render (missing certificate, bad directive)', () => {
    const noCert = nginxTest(renderEdgeConfig({ ...localise(k8sEnv, 'nocert'), TLS_CERT: join(dir, 'missing.crt') }, template), 'nocert');
    expect(noCert.status).not.toBe(0);
    expect(noCert.stderr).toMatch(/missing\.crt/);
    const typo = nginxTest(renderEdgeConfig(localise(k8sEnv, 'typo'), template.replace('proxy_read_timeout 75s;', 'proxy_read_timeout;')), 'typo');
    expect(typo.status).not.toBe(0);
  });

  it('has the TLS, WebSocket, header and blocking directives the platform relies on', () => {
    expect(template).toMatch(/^\s*ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
    expect(template).not.toMatch(/ssl_protocols[^;]*TLSv1(\.1)?[ ;]/);
    expect(template).toMatch(/Strict-Transport-Security "max-age=63072000" always/);
    const socket = /location = \/socket \{([\s\S]*?)\n {8}\}/.exec(template)?.[1] ?? '';
    expect(socket).toContain('proxy_pass http://chat;');
    expect(socket).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(socket).toContain('proxy_set_header Connection $connection_upgrade;');
    const seconds = (d: string) => Number(new RegExp(`${d} (\\d+)s;`).exec(socket)?.[1]);
    const PING_INTERVAL_S = 25; // chat's HEARTBEAT_MS default
    expect(seconds('proxy_read_timeout')).toBeGreaterThan(PING_INTERVAL_S * 2);
    expect(seconds('proxy_send_timeout')).toBeGreaterThan(PING_INTERVAL_S * 2);
    const admin = [...template.matchAll(/location \/ \{([\s\S]*?)\n {8}\}/g)].map((m) => m[1]!).find((body) => body.includes('proxy_pass http://admin;')) ?? '';
    for (const loc of [socket, admin]) {
      for (const h of ['X-Request-Id $parley_request_id', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Host $host']) expect(loc).toContain(`proxy_set_header ${h};`);
    }
    expect(template).toMatch(/location \^~ \/internal\/ \{\s*return 404;/);
    expect(template).toMatch(/location \^~ \/metrics \{\s*return 404;/);
    expect(template).toMatch(/client_max_body_size \d+[km];/);
    expect(template).toMatch(/gzip on;/);
    expect(template).toMatch(/location = \/edge-healthz/);
    expect(template).toMatch(/return 301 https:\/\/\$host\$\{EDGE_HTTPS_REDIRECT_PORT\}\$request_uri;/);
  });

  it('has the abuse limits: limit_req for login, sign-up and upgrades, limit_conn per IP, one 429 answer', () => {
    for (const zone of ['parley_login', 'parley_signup', 'parley_upgrade']) expect(template).toMatch(new RegExp(`limit_req_zone \\$\\S+ zone=${zone}:\\d+m rate=\\d+r/m;`));
    const location = (path: string) => new RegExp(`location = ${path} \\{([\\s\\S]*?)\\n {8}\\}`).exec(template)?.[1] ?? '';
    expect(location('/login')).toMatch(/limit_req zone=parley_login burst=\d+ nodelay;/);
    expect(location('/signup')).toMatch(/limit_req zone=parley_signup burst=\d+ nodelay;/);
    expect(location('\\/socket')).toMatch(/limit_req zone=parley_upgrade burst=\d+ nodelay;/);
    expect(location('\\/socket')).toContain('limit_conn parley_ws_conn 100;');
    expect(template).toMatch(/^\s*limit_conn parley_conn \d+;$/m);
    expect(template).toMatch(/limit_req_status 429;/);
    expect(template).toMatch(/limit_conn_status 429;/);
    expect(template).toMatch(/error_page 429 @too_many;/);
    // Only well-formed, short client request ids are kept.
    expect(template).toContain('"~^[A-Za-z0-9._-]{1,64}$"   $http_x_request_id;');
    expect(template).not.toMatch(/default\s+\$http_x_request_id;/);
  });
});
