// The Dockerfile and .dockerignore follow the rules (pinned Node 24 base, multi-stage, the image chosen by
// the APP build argument, only that app's production deps, non-root numeric user > 10000, exec-form CMD,
// no secrets), for each app's image, and each rule fails when broken.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { appImageCmd, dockerfileViolations, dockerignoreViolations } from './support/dockerfile.ts';
import { ROOT } from './support/manifests.ts';

const workspaces = ['apps', 'packages'].flatMap((d) => readdirSync(join(ROOT, d)).map((n) => `${d}/${n}/package.json`)).filter((p) => existsSync(join(ROOT, p)));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** Apply `f` to the stage named `name` only (its FROM line up to the next FROM). */
function inStage(text: string, name: string, f: (stage: string) => string): string {
  const start = text.search(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
  if (start < 0) throw new Error(`no stage ${name}`);
  const next = text.indexOf('\nFROM ', start + 1);
  return text.slice(0, start) + f(text.slice(start, next)) + text.slice(next);
}

describe('one Dockerfile for both apps', () => {
  it('is the only Dockerfile (the per-app copies are gone)', () => {
    expect(['apps/admin/Dockerfile', 'apps/chat/Dockerfile'].filter((p) => existsSync(join(ROOT, p)))).toEqual([]);
  });
});

describe.each(['admin', 'chat'])('Dockerfile with APP=%s', (app) => {
  it('follows every rule', () => {
    expect(dockerfileViolations(dockerfile, { app, workspacePackageJsons: workspaces })).toEqual([]);
    expect(appImageCmd(dockerfile, app)).toEqual(['node', '--enable-source-maps', `apps/${app}/dist/main.js`]);
  });

  const other = app === 'chat' ? 'admin' : 'chat';
  const broken: [string, (s: string) => string, RegExp][] = [
    ['unpinned base', (s) => s.replace(/ARG NODE_IMAGE=\S+/, 'ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim'), /not the official Node 24 slim image pinned/],
    ['latest base', (s) => s.replace(/ARG NODE_IMAGE=\S+/, 'ARG NODE_IMAGE=node:latest'), /pinned/],
    ['single stage', (s) => { let first = true; return s.replace(/^FROM .*$/gm, (l) => (first ? ((first = false), l) : '')); }, /not multi-stage/],
    ['no stage for the app', (s) => s.replace(new RegExp(`^(FROM \\S+ AS) ${app}$`, 'm'), '$1 legacy'), new RegExp(`no stage named ${app}`)],
    ['image not chosen by APP', (s) => s.replace(/^FROM \$\{APP\}$/m, `FROM ${other}`), /not the stage named by the APP build argument/],
    ['root user', (s) => inStage(s, app, (t) => t.replace(/USER 10001:10001/, 'USER root')), /USER must be numeric/],
    ['low uid', (s) => inStage(s, app, (t) => t.replace(/USER 10001:10001/, 'USER 1000:1000')), /above 10000/],
    ['shell-form CMD', (s) => inStage(s, app, (t) => t.replace(/CMD \[.*\]/, `CMD node apps/${app}/dist/main.js`)), /exec form/],
    ['CMD of the other app', (s) => inStage(s, app, (t) => t.replace(`apps/${app}/dist/main.js"]`, `apps/${other}/dist/main.js"]`)), new RegExp(`CMD does not run apps/${app}/dist/main.js`)],
    ['baked secret', (s) => s.replace('ENV NODE_ENV=production', 'ENV SESSION_SECRET=abc NODE_ENV=production'), /SESSION_SECRET bakes a secret/],
    ['whole context in the shared runtime stage', (s) => s.replace(/COPY package\.json \.\/\nCOPY --from=deps/, 'COPY . .\nCOPY --from=deps'), /copies the whole build context/],
    ['dev deps in the app stage', (s) => inStage(s, app, (t) => t.replace('USER 10001:10001', 'RUN npm ci\nUSER 10001:10001')), /including dev ones/],
    ['build stage node_modules in the image', (s) => s.replace('COPY --from=deps /app/node_modules', 'COPY --from=build /app/node_modules'), /node_modules from the build stage/],
    ['every workspace\'s production deps', (s) => s.replace(' --workspace "apps/$APP"', ''), /not limited to the app's workspace/],
    ['workspace missing', (s) => s.replace('COPY packages/protocol/package.json packages/protocol/\n', ''), /packages\/protocol\/package.json is not copied/],
  ];
  it.each(broken)('reports a broken rule: %s', (_n, mutate, expected) => {
    const text = mutate(dockerfile);
    expect(text).not.toBe(dockerfile);
    const v = dockerfileViolations(text, { app, workspacePackageJsons: workspaces });
    expect(v.some((x) => expected.test(x)), v.join('\n')).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, build output, local data and secrets out of the build context', () => {
    expect(dockerignoreViolations(readFileSync(join(ROOT, '.dockerignore'), 'utf8'))).toEqual([]);
    expect(dockerignoreViolations('node_modules\n.git\n')).toEqual(expect.arrayContaining(['.dockerignore does not exclude secrets.env']));
  });
});
