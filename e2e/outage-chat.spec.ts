// Postgres stopped for 10 s under traffic (the crash: a checked-out client's 'error' had no
// listener): no chat process exits, /readyz goes false and comes back by itself, sends meanwhile are
// answered `unavailable` with retryInMs (clients resend), the outage is logged once when it starts and
// once when it ends (with the failure count) instead of once per batch, and afterwards every client has
// every message exactly once and in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@parley/db';
import { freePort, startPgServer, startRedisServer, startStack, type PgServer, type RedisServer, type Stack } from '@parley/devtools';
import { migrate } from '@parley/db';
import { chatTokenFor, createChatRoom, createChatUser } from '../packages/devtools/src/chat-fixtures.ts';
import { FleetClient } from '../scripts/chaos/clients.ts';
import { verifyMessages } from '../scripts/chaos/verify.ts';
import { waitFor } from './support/ws-client.ts';

let pg: PgServer;
let redis: RedisServer;
let stack: Stack;
let pool: Pool;
const fleet: FleetClient[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  pg = await startPgServer({ port: await freePort() });
  redis = await startRedisServer(await freePort());
  pool = createPool(pg.url, { max: 2 });
  await migrate(pool);
  stack = await startStack({
    databaseUrl: pg.url,
    redisUrl: redis.url,
    redisPrefix: 'outage-chat:',
    chatReplicas: 2,
    admin: false,
    chatEnv: { LOG_LEVEL: 'info', SEND_RATE_PER_SEC: '1000', SEND_BURST: '1000' },
  });
});

afterAll(async () => {
  for (const c of fleet) c.stop();
  await stack?.stop();
  await pool?.end().catch(() => undefined);
  await redis?.stop();
  await pg?.destroy();
});

async function readiness(): Promise<boolean[]> {
  return Promise.all(stack.chats.map((c) => fetch(`${c.url}/readyz`).then((r) => r.status === 200, () => false)));
}

describe('chat while Postgres is stopped for 10 s', () => {
  it('survives, reports not ready then ready, logs the outage once, and loses nothing', async () => {
    const room = await createChatRoom(pool);
    for (let i = 0; i < 6; i++) {
      const user = await createChatUser(pool, `pgstop${i}`);
      let next = i;
      const c = new FleetClient({
        index: i, userId: user.id, roomId: room, breakIdempotency: false,
        url: () => stack.chats[next++ % stack.chats.length]!.wsUrl,
        token: async () => chatTokenFor(user, stack.secrets.CHAT_TOKEN_SECRET),
      });
      fleet.push(c);
      c.start();
    }
    await waitFor(() => fleet.every((c) => c.state === 'open'), 'clients connected');
    const traffic = setInterval(() => {
      for (const c of fleet) c.sendNext();
    }, 100);
    await sleep(1_000);

    await pg.stop();
    const notReady = new Set<number>();
    const stoppedAt = Date.now();
    while (Date.now() - stoppedAt < 10_000) {
      (await readiness()).forEach((ok, i) => ok || notReady.add(i));
      await sleep(250);
    }
    await pg.start();
    await waitFor(async () => (await readiness()).every(Boolean), 'both replicas ready again', 30_000, 100);
    await sleep(1_000);
    clearInterval(traffic);

    expect([...notReady].sort()).toEqual([0, 1]);
    for (const c of stack.chats) expect(c.process.child.exitCode, c.process.name).toBeNull();
    // Sends during the outage were refused as unavailable (and resent): the clients kept their outbox.
    expect(fleet.reduce((n, c) => n + (c.errors.get('unavailable') ?? 0), 0)).toBeGreaterThan(0);

    await waitFor(async () => {
      const { rows } = await pool.query<{ last_seq: number }>('SELECT last_seq FROM rooms WHERE id = $1', [room]);
      return fleet.every((c) => c.pending === 0 && c.lastSeq === Number(rows[0]!.last_seq));
    }, 'every client caught up', 60_000, 250);
    const verdict = await verifyMessages(pool, fleet);
    expect({ lost: verdict.lost, duplicated: verdict.duplicated, reordered: verdict.reordered, mismatched: verdict.mismatched, examples: verdict.examples })
      .toEqual({ lost: 0, duplicated: 0, reordered: 0, mismatched: 0, examples: [] });
    expect(verdict.stored).toBe(verdict.sent);

    for (const c of stack.chats) {
      const lines = c.process.output;
      const down = lines.filter((l) => l.includes('"msg":"postgres unavailable'));
      const back = lines.filter((l) => l.includes('"msg":"postgres available again"'));
      expect(down, c.process.name).toHaveLength(1);
      expect(back, c.process.name).toHaveLength(1);
      expect((JSON.parse(back[0]!) as { failures: number }).failures).toBeGreaterThan(0);
      expect(lines.filter((l) => l.includes('storing a message failed')), c.process.name).toEqual([]);
    }
  }, 180_000);
});
