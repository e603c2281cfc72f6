// Embedded mode (no REDIS_URL): two chat replicas fan out over Postgres LISTEN/NOTIFY, including
// message events too big for a NOTIFY payload (sent as a seq hint and fetched from Postgres).
import { describe, expect } from 'vitest';
import { chatTokenFor, createChatRoom, createChatUser, roomMessages } from '../packages/devtools/src/chat-fixtures.ts';
import { e2eTest } from './support/fixtures.ts';
import { TestSocket } from './support/ws-client.ts';

const test = e2eTest({
  label: 'chat_embedded',
  redis: 'none',
  stack: { chatReplicas: 2, admin: false, chatEnv: { LOG_LEVEL: 'warn', SEND_RATE_PER_SEC: '500', SEND_BURST: '100' } },
});
// Start them in a hook (hook timeout) rather than inside the first test's time.
test.beforeAll(({ stack }) => void stack);

describe('chat without Redis (Postgres LISTEN/NOTIFY fan-out)', () => {
  test('delivers messages and edits from replica A to replica B in order, big payloads included', async ({ db, stack, sockets }) => {
    const [ann, bob] = await Promise.all([createChatUser(db.pool, 'ea'), createChatUser(db.pool, 'eb')]);
    const room = await createChatRoom(db.pool);
    const a = await TestSocket.open(stack.chats[0]!.wsUrl, chatTokenFor(ann, stack.secrets.CHAT_TOKEN_SECRET));
    const b = await TestSocket.open(stack.chats[1]!.wsUrl, chatTokenFor(bob, stack.secrets.CHAT_TOKEN_SECRET));
    sockets.keep(a);
    sockets.keep(b);
    for (const s of [a, b]) {
      s.send({ type: 'join', room });
      await s.next('caught_up');
    }
    // 2500 control characters: JSON-escaped ≈ 15 KB (a legal frame), far above NOTIFY's 8000-byte payload limit.
    const big = '\u0001'.repeat(2500);
    for (let i = 0; i < 30; i++) a.send({ type: 'send', room, clientId: `e${i}`, body: i % 10 === 5 ? big : `small ${i}` });
    await b.next('message', (f) => f.message.seq === 30).catch((err: Error) => { throw new Error(`${err.message.slice(0, 60)} seqs=${b.all('message').map((f) => f.message.seq).join(',')} A=${a.frames.map((f) => f.type === 'ack' ? f.seq : f.type === 'error' ? f.code : f.type).join(',')}\n${stack.logs().slice(-3000)}`); });
    const seqs = b.all('message').map((f) => f.message.seq);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(b.all('message')[5]!.message.body).toBe(big);
    const stored = await roomMessages(db.pool, room);
    expect(stored.map((m) => m.clientId)).toEqual(Array.from({ length: 30 }, (_, i) => `e${i}`));

    a.send({ type: 'edit', room, seq: 6, body: `${big}!` });
    expect((await b.next('updated')).message.body).toBe(`${big}!`);
  });
});
