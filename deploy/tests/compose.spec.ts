// compose.yaml: consistent with the images, the edge template and Kubernetes, and the environment it
// gives admin and chat passes the apps' own config schemas (with the example secrets interpolated).
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '@parley/config';
import { adminConfigSchema } from '../../apps/admin/src/config.ts';
import { chatConfigSchema } from '../../apps/chat/src/config.ts';
import { EDGE_VARIABLES } from '../nginx/render.ts';
import { ROOT } from './support/manifests.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const secrets = Object.fromEntries(readFileSync(join(ROOT, 'deploy/k8s/base/secrets.env.example'), 'utf8').split('\n')
  .filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (vars[name] !== undefined && vars[name] !== '') return vars[name];
    if (op === ':-') return arg ?? '';
    throw new Error(`compose would stop: ${name} ${arg ?? 'is not set'}`);
  });
}

const raw = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
const compose = parse(interpolate(raw, secrets), { merge: true });

describe('compose.yaml', () => {
  it('has postgres, redis, migrate, admin, chat and edge', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['admin', 'chat', 'edge', 'migrate', 'postgres', 'redis']);
  });

  it('stops with a message when a secret is missing', () => {
    const { POSTGRES_PASSWORD: _omit, ...rest } = secrets;
    expect(() => interpolate(raw, rest)).toThrow(/POSTGRES_PASSWORD/);
  });

  it('builds the app images from the real Dockerfile (APP=admin|chat) and migrates from the admin image', () => {
    for (const s of ['admin', 'chat', 'migrate']) {
      expect(existsSync(join(ROOT, compose.services[s].build.dockerfile)), s).toBe(true);
      expect(compose.services[s].build.context).toBe('.');
    }
    expect(compose.services.migrate.build).toEqual(compose.services.admin.build);
    for (const s of ['admin', 'chat']) expect(compose.services[s].build).toEqual({ context: '.', dockerfile: 'Dockerfile', args: { APP: s } });
    expect(compose.services.migrate.command).toEqual(['node', 'packages/db/dist/migrate.js']);
    for (const s of ['admin', 'chat']) expect(compose.services[s].depends_on.migrate.condition).toBe('service_completed_successfully');
  });

  it('gives admin and chat an environment their config schemas accept (with real secrets, not the examples)', () => {
    // The example secrets are public: the services refuse them. Real ones (as an operator makes them) pass.
    expect(() => parseConfig(adminConfigSchema, compose.services.admin.environment)).toThrow(/published example value/);
    expect(() => parseConfig(chatConfigSchema, compose.services.chat.environment)).toThrow(/published example value/);
    const real = Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, /change-me/.test(v) ? randomBytes(32).toString('hex') : v]));
    const deployed = parse(interpolate(raw, real), { merge: true });
    expect(() => parseConfig(adminConfigSchema, deployed.services.admin.environment)).not.toThrow();
    expect(() => parseConfig(chatConfigSchema, deployed.services.chat.environment)).not.toThrow();
    expect(parseConfig(adminConfigSchema, deployed.services.admin.environment).CHAT_PUBLIC_URL).toBe('');
    // The check can fail: without a secret the schema refuses.
    const { SESSION_SECRET: _s, ...noSecret } = deployed.services.admin.environment;
    expect(() => parseConfig(adminConfigSchema, noSecret)).toThrow(/SESSION_SECRET/);
  });

  it('runs the edge from the shared template with every variable set, hardened', () => {
    const edge = compose.services.edge;
    expect(edge.volumes).toContain('./deploy/nginx/parley.conf.template:/etc/nginx/templates/parley.conf.template:ro');
    for (const v of EDGE_VARIABLES) expect(edge.environment, v).toHaveProperty(v);
    for (const s of Object.values<any>(compose.services)) {
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(['ALL']);
      expect(s.security_opt).toContain('no-new-privileges:true');
    }
  });
});
