// Bad configuration stops a process with one clear line naming the variable, never a stack trace.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_PG_URL } from '@parley/devtools';

const run = (entry: string, env: Record<string, string>) => {
  const r = spawnSync(process.execPath, [resolve(entry)], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() };
};
const secrets = { INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32) };
const oneLine = (text: string) => {
  expect(text.split('\n')).toHaveLength(1);
  expect(text).not.toMatch(/\n\s+at |Error:/);
};

describe('configuration errors', () => {
  it('a malformed DATABASE_URL names the variable (migrate, admin, chat)', () => {
    for (const entry of ['packages/db/dist/migrate.js', 'apps/admin/dist/main.js', 'apps/chat/dist/main.js']) {
      const r = run(entry, { ...secrets, DATABASE_URL: 'mysql://nope' });
      expect(r.status, entry).toBe(78);
      oneLine(r.stderr);
      expect(r.stderr).toContain('DATABASE_URL must be a postgres://');
    }
  });

  it('missing secrets and a bad port are each named with what is expected', () => {
    const r = run('apps/chat/dist/main.js', { DATABASE_URL: 'postgres://x@127.0.0.1/x', PORT: 'eighty' });
    expect(r.status).toBe(78);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/PORT must be a TCP port number/);
    expect(r.stderr).toMatch(/INTERNAL_TOKEN must be set to a random string of at least 32 characters/);
    expect(r.stderr).toMatch(/CHAT_TOKEN_SECRET/);
  });

  it('a database that does not exist fails at once with one line (no retry loop)', () => {
    const u = new URL(TEST_PG_URL);
    u.pathname = '/parley_no_such_database';
    const r = run('packages/db/dist/migrate.js', { DATABASE_URL: u.toString(), LOG_LEVEL: 'warn' });
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toContain('database does not exist');
    // "At once" as the process tells it, not by a stopwatch: not one retry was logged (each retry
    // logs a warning with its delay; the unreachable case below shows them).
    expect(r.stdout).not.toContain('delayMs');
  });

  it('an unreachable database is retried, then reported in one line with the password hidden', () => {
    const r = run('packages/db/dist/migrate.js', { DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:1/parley', DB_CONNECT_TIMEOUT_MS: '1500', LOG_LEVEL: 'warn' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('delayMs'); // retried (logged), unlike a database that does not exist
    expect(r.stdout).not.toContain('hunter2');
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/cannot connect to PostgreSQL at DATABASE_URL=postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/parley: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('npm start with a wrong DATABASE_URL says so in one line and exits', () => {
    const r = run('dist/start.js', { DATABASE_URL: 'postgres://app:pw@127.0.0.1:1/parley', DB_CONNECT_TIMEOUT_MS: '1500', LOG_LEVEL: 'silent' });
    expect(r.status).not.toBe(0);
    const errorLines = r.stderr.split('\n').filter((l) => !l.startsWith('[parley]'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain('cannot connect to PostgreSQL at DATABASE_URL=postgres://app:***@127.0.0.1:1/parley');
  });
});
