// Renders deploy/nginx/parley.conf.template the way the official nginx image's envsubst step does
// (only the named ${VARIABLES}; NGINX's own lowercase $variables are untouched), but strictly: every
// placeholder must have a value and no value may be missing. Used by `npm run stack` and the tests.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const EDGE_TEMPLATE = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'parley.conf.template');

export const EDGE_VARIABLES = [
  'EDGE_RUNTIME_DIR',
  'EDGE_HTTP_LISTEN',
  'EDGE_HTTPS_LISTEN',
  'EDGE_HTTPS_REDIRECT_PORT',
  'ADMIN_SERVERS',
  'CHAT_SERVERS',
  'TLS_CERT',
  'TLS_KEY',
  'EDGE_ACCESS_LOG',
  'EDGE_ERROR_LOG',
] as const;

export type EdgeVariables = Record<(typeof EDGE_VARIABLES)[number], string>;

/** The ${NAME} placeholders a template uses (comments included: envsubst does not skip them either). */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

export function renderEdgeConfig(vars: EdgeVariables, template = readFileSync(EDGE_TEMPLATE, 'utf8')): string {
  const used = placeholdersOf(template);
  const unknown = used.filter((name) => !(EDGE_VARIABLES as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`edge template uses unknown placeholder(s): ${unknown.join(', ')}`);
  for (const name of EDGE_VARIABLES) {
    if (typeof vars[name] !== 'string') throw new Error(`edge template variable ${name} is not set`);
  }
  return template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: (typeof EDGE_VARIABLES)[number]) => vars[name]);
}

/** `server host:port;` lines for an upstream block. */
export function upstreamServers(addresses: string[]): string {
  return addresses.map((a) => `server ${a} max_fails=1 fail_timeout=2s;`).join(' ');
}
