// The Dockerfiles and .dockerignore follow the rules (pinned Node 24 base, multi-stage, production deps
// only, non-root numeric user > 10000, exec-form CMD, no secrets), and each rule fails when broken.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dockerfileViolations, dockerignoreViolations } from './support/dockerfile.ts';
import { ROOT } from './support/manifests.ts';

const workspaces = ['apps', 'packages'].flatMap((d) => readdirSync(join(ROOT, d)).map((n) => `${d}/${n}/package.json`)).filter((p) => existsSync(join(ROOT, p)));
const read = (app: string) => readFileSync(join(ROOT, `apps/${app}/Dockerfile`), 'utf8');

describe.each(['admin', 'chat'])('apps/%s/Dockerfile', (app) => {
  it('follows every rule', () => {
    expect(dockerfileViolations(read(app), { app, workspacePackageJsons: workspaces })).toEqual([]);
  });

  const broken: [string, (s: string) => string, RegExp][] = [
    ['unpinned base', (s) => s.replace(/ARG NODE_IMAGE=\S+/, 'ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim'), /not the official Node 24 slim image pinned/],
    ['latest base', (s) => s.replace(/ARG NODE_IMAGE=\S+/, 'ARG NODE_IMAGE=node:latest'), /pinned/],
    ['single stage', (s) => s.replace(/FROM \$\{NODE_IMAGE\} AS build[\s\S]*FROM \$\{NODE_IMAGE\} AS runtime/, 'FROM ${NODE_IMAGE} AS runtime'), /not multi-stage/],
    ['root user', (s) => s.replace(/USER 10001:10001/, 'USER root'), /USER must be numeric/],
    ['low uid', (s) => s.replace(/USER 10001:10001/, 'USER 1000:1000'), /above 10000/],
    ['shell-form CMD', (s) => s.replace(/CMD \[.*\]/, `CMD node apps/${app}/dist/main.js`), /exec form/],
    ['baked secret', (s) => s.replace('ENV NODE_ENV=production', 'ENV SESSION_SECRET=abc NODE_ENV=production'), /SESSION_SECRET bakes a secret/],
    ['whole context in final stage', (s) => s.replace(/COPY package\.json \.\/\nCOPY --from=deps/, 'COPY . .\nCOPY --from=deps'), /copies the whole build context/],
    ['dev deps in final stage', (s) => s.replace('USER 10001:10001', 'RUN npm ci\nUSER 10001:10001'), /including dev ones/],
    ['workspace missing', (s) => s.replace('COPY packages/protocol/package.json packages/protocol/\n', ''), /packages\/protocol\/package.json is not copied/],
  ];
  it.each(broken)('reports a broken rule: %s', (_n, mutate, expected) => {
    const text = mutate(read(app));
    expect(text).not.toBe(read(app));
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
