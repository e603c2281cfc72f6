#!/usr/bin/env node
// `npm run deploy -- [--overlay production|local] [--tag 1.2.3] [--context NAME] [--dry-run]`
// A thin wrapper over kubectl: render the overlay (kubectl kustomize; with --tag the admin/chat image
// tags are replaced), replace the finished migration Job (its pod template is immutable), apply, wait
// for the migration, then watch the rollouts. --dry-run renders and prints the manifests on stdout and
// the plan on stderr, touching no cluster (it works without secrets.env, using the *.example files).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const say = (s) => process.stderr.write(`[deploy] ${s}\n`);
const die = (s) => {
  say(s);
  process.exit(1);
};

const overlay = option('--overlay', 'production');
const tag = option('--tag', null);
const context = option('--context', null);
const dryRun = flag('--dry-run');
const namespace = 'parley';
if (!['production', 'local'].includes(overlay)) die(`--overlay must be production or local, got ${JSON.stringify(overlay)}`);
if (tag !== null && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) die(`--tag must be an image tag (e.g. 1.2.3 or a git sha), got ${JSON.stringify(tag)}`);
if (tag === 'latest') die('--tag latest is not allowed: pin a version');

// Inputs that are git-ignored and must exist for a real deploy.
const required = [join('deploy/k8s/base/secrets.env')];
if (overlay === 'production') required.push('deploy/k8s/components/managed-data/secrets.env');
if (overlay === 'local') required.push('deploy/k8s/overlays/local/tls.crt', 'deploy/k8s/overlays/local/tls.key');
const missing = required.filter((f) => !existsSync(join(root, f)));
if (missing.length && !dryRun) die(`missing ${missing.join(', ')}: copy the *.example files and fill them in (docs/deploy.md, "Secrets")`);

// Render from a scratch copy so --tag and the dry-run's example secrets never touch the tree.
const scratch = mkdtempSync(join(tmpdir(), 'parley-deploy-'));
let rendered;
try {
  cpSync(join(root, 'deploy/k8s'), join(scratch, 'k8s'), { recursive: true });
  cpSync(join(root, 'deploy/nginx'), join(scratch, 'nginx'), { recursive: true });
  if (missing.length) {
    say(`dry run without ${missing.join(', ')}: using the committed examples`);
    const walk = (d) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f === 'secrets.env.example' && !existsSync(join(d, 'secrets.env'))) copyFileSync(p, join(d, 'secrets.env'));
      }
    };
    walk(join(scratch, 'k8s'));
    const local = join(scratch, 'k8s/overlays/local');
    if (overlay === 'local' && !existsSync(join(local, 'tls.crt'))) {
      const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=localhost', '-keyout', join(local, 'tls.key'), '-out', join(local, 'tls.crt'), '-days', '1'], { encoding: 'utf8' });
      if (r.status !== 0) die(`openssl failed: ${r.stderr}`);
    }
  }
  const kustomization = join(scratch, 'k8s/overlays', overlay, 'kustomization.yaml');
  if (tag) {
    const doc = parseDocument(readFileSync(kustomization, 'utf8'));
    const images = doc.get('images');
    if (!images) die(`${overlay} has no images: section to set the tag in`);
    for (const item of images.items) if (['parley-admin', 'parley-chat'].includes(item.get('name'))) item.set('newTag', tag);
    writeFileSync(kustomization, doc.toString());
  }
  const r = spawnSync('kubectl', ['kustomize', join(scratch, 'k8s/overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) die(`kubectl is not installed or failed to start: ${r.error.message}`);
  if (r.status !== 0) die(`kubectl kustomize failed:\n${r.stderr}`);
  rendered = r.stdout;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const ctx = context ? ['--context', context] : [];
const plan = [
  ['kubectl', ...ctx, '-n', namespace, 'delete', 'job', 'parley-migrate', '--ignore-not-found', '--wait=true'],
  ['kubectl', ...ctx, 'apply', '-f', '-'],
  ['kubectl', ...ctx, '-n', namespace, 'wait', '--for=condition=complete', 'job/parley-migrate', '--timeout=10m'],
  ['kubectl', ...ctx, '-n', namespace, 'rollout', 'status', 'deployment/admin', '--timeout=10m'],
  ['kubectl', ...ctx, '-n', namespace, 'rollout', 'status', 'deployment/chat', '--timeout=10m'],
  ['kubectl', ...ctx, '-n', namespace, 'rollout', 'status', 'deployment/edge', '--timeout=10m'],
];
const images = [...new Set([...rendered.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]))];
say(`overlay ${overlay}: ${rendered.split(/^---$/m).length} objects; images: ${images.join(', ')}`);

if (dryRun) {
  process.stdout.write(rendered);
  say('dry run: would run');
  for (const cmd of plan) say(`  ${cmd.join(' ')}${cmd.includes('-') ? '   (rendered manifests on stdin)' : ''}`);
  process.exit(0);
}

for (const cmd of plan) {
  say(cmd.join(' '));
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: [cmd.includes('-') ? 'pipe' : 'inherit', 'inherit', 'inherit'], input: cmd.includes('-') ? rendered : undefined });
  if (r.status !== 0) {
    die(`failed: ${cmd.join(' ')}\nRoll back with: kubectl -n ${namespace} rollout undo deployment/admin deployment/chat (docs/deploy.md, "Roll back")`);
  }
}
say('deployed');
