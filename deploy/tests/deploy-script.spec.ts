// `npm run deploy` offline: --dry-run renders the overlay (with the example secrets when the real ones
// are absent), pins the requested tag, prints the plan, and refuses bad input.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './support/manifests.ts';

const deploy = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts/deploy.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

describe('scripts/deploy.mjs', () => {
  it('--dry-run renders production with the requested tag and prints the plan', () => {
    const r = deploy('--dry-run', '--overlay', 'production', '--tag', '1.4.2');
    expect(r.status, r.stderr).toBe(0);
    const objs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const images = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job').map((o) => o.spec.template.spec.containers[0].image);
    expect(images).toEqual(expect.arrayContaining(['registry.example.com/parley/admin:1.4.2', 'registry.example.com/parley/chat:1.4.2']));
    expect(r.stderr).toMatch(/delete job parley-migrate/);
    expect(r.stderr).toMatch(/apply -f -/);
    expect(r.stderr).toMatch(/wait --for=condition=complete job\/parley-migrate/);
    expect(r.stderr).toMatch(/rollout status deployment\/chat/);
  });

  it('--dry-run renders the local overlay', () => {
    const r = deploy('--dry-run', '--overlay', 'local');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('image: parley-admin:0.1.0-local');
  });

  it('refuses an unknown overlay, the latest tag and a malformed tag', () => {
    expect(deploy('--dry-run', '--overlay', 'staging').status).toBe(1);
    expect(deploy('--dry-run', '--tag', 'latest').stderr).toMatch(/pin a version/);
    expect(deploy('--dry-run', '--tag', 'a b').status).toBe(1);
  });
});
