import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const exec = promisify(execFile);

export interface RedisServerOptions {
  /**
   * Keep data across restarts: append-only file, fsync once a second (`appendonly yes`,
   * `appendfsync everysec`), as the Kubernetes StatefulSet runs it. Sessions then survive a restart;
   * at most the last second of writes is lost on a crash (kill -9). Default false (tests' throwaways).
   */
  persistent?: boolean;
  /** Data directory (default: a new temp dir). Reuse it to keep data between runs (npm run stack). */
  dir?: string;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Shut down (a persistent server flushes its append-only file first). */
  stop(): Promise<void>;
  /** kill -9: no shutdown, no flush (what a crash or an OOM kill does). */
  kill(): Promise<void>;
  /** Start again on the same port and directory (after stop or kill). */
  start(): Promise<void>;
}

function ping(port: number): boolean {
  const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
  return r.stdout?.trim() === 'PONG';
}

async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`redis-server: timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** A redis-server of our own (Debian's package) on its own port: for tests that stop or restart Redis, and npm run stack. */
export async function startRedisServer(port: number, opts: RedisServerOptions = {}): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed: apt-get install -y redis-server (npm test installs it)');
  }
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'parley-redis-'));
  mkdirSync(dir, { recursive: true });
  const pidfile = join(dir, 'redis.pid');
  const persistence = opts.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '']
    : ['--appendonly', 'no', '--save', ''];
  const start = async () => {
    await exec('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--daemonize', 'yes', '--dir', dir, '--pidfile', pidfile, '--logfile', join(dir, 'redis.log')]);
    // Loading a big append-only file takes a moment: PONG only once it is loaded.
    await until(() => ping(port), `PONG on port ${port}`);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop: async () => {
      spawnSync('redis-cli', ['-p', String(port), 'shutdown', opts.persistent ? 'save' : 'nosave']);
      await until(() => !ping(port), 'shutdown');
    },
    kill: async () => {
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : NaN;
      if (!Number.isInteger(pid)) throw new Error(`redis-server on ${port}: no pid file`);
      process.kill(pid, 'SIGKILL');
      await until(() => !ping(port), 'kill -9');
    },
  };
}
