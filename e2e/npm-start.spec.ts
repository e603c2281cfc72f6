// `npm start`'s launcher in its embedded mode (no DATABASE_URL, no REDIS_URL): real embedded Postgres,
// Postgres-backed sessions, LISTEN/NOTIFY fan-out. Chat, stop, start again: the history is still there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnService, type ServiceProcess } from '@parley/devtools';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-start-'));
let launcher: ServiceProcess | null = null;

afterAll(async () => {
  await launcher?.stop('SIGINT', 30_000);
  rmSync(dataDir, { recursive: true, force: true });
});

async function startLauncher(ports: { admin: number; chat: number; pg: number }) {
  const proc = spawnService('npm-start', resolve('dist/start.js'), {
    PARLEY_DATA_DIR: dataDir,
    ADMIN_PORT: String(ports.admin),
    CHAT_PORT: String(ports.chat),
    PARLEY_EMBEDDED_PG_PORT: String(ports.pg),
    LOG_LEVEL: 'warn',
  });
  const deadline = Date.now() + 90_000;
  while (!proc.output.some((l) => l.includes('Parley is running'))) {
    if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`launcher did not start:\n${proc.output.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return proc;
}

describe('npm start (embedded mode)', () => {
  it('runs the system, prints the admin login, and keeps history across a restart', async () => {
    const ports = { admin: await freePort(), chat: await freePort(), pg: await freePort() };
    launcher = await startLauncher(ports);
    const banner = launcher.output.join('\n');
    expect(banner).toContain(`Parley is running: http://localhost:${ports.admin}`);
    expect(banner).toMatch(/admin login: +admin@parley\.local/);
    expect(banner).toMatch(/admin password: +\S{12,}/);
    expect(banner).toContain('sessions:        PostgreSQL (embedded mode)');

    const base = `http://localhost:${ports.admin}`;
    const panel = new PanelClient(base);
    const user = newUser('emb');
    await panel.signUp(user);
    const roomId = await panel.createRoom('embedded-room');
    const sock = await TestSocket.open(`ws://localhost:${ports.chat}/socket`, await panel.chatToken(), { origin: base });
    sock.send({ type: 'join', room: roomId });
    await sock.next('caught_up');
    sock.send({ type: 'send', room: roomId, clientId: 'before-restart', body: 'kept across restarts' });
    await sock.next('ack');
    await sock.next('message', (f) => f.message.clientId === 'before-restart');

    expect(await launcher.stop('SIGINT', 30_000)).toBe(0);
    expect(launcher.output.join('\n')).toContain('[parley] stopped');
    launcher = await startLauncher(ports);

    // Same session cookie still valid (sessions in Postgres), same history.
    const again = await TestSocket.open(`ws://localhost:${ports.chat}/socket`, await panel.chatToken(), { origin: base });
    again.send({ type: 'join', room: roomId, sinceSeq: 0 });
    const replayed = await again.next('message', (f) => f.message.clientId === 'before-restart');
    expect(replayed.message.body).toBe('kept across restarts');
    expect(replayed.message.seq).toBe(1);
    again.close();
  }, 180_000);
});
