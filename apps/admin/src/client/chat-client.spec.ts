// The browser ChatClient's own logic against a scripted fake socket (no server): order enforcement,
// outbox bookkeeping, retries, reconnect policy.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage, ServerFrame } from '@parley/protocol';
import { ChatClient, type ChatClientEvents, type ConnectionState } from './chat-client.ts';
import { FakeSocket, me, other } from './socket-test-kit.ts';

const msg = (seq: number, clientId = `c${seq}`, author = other): ChatMessage => ({
  id: seq, roomId: 1, seq, author, clientId, body: `m${seq}`, createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
});

function setup() {
  FakeSocket.instances = [];
  const seen: number[] = [];
  const states: ConnectionState[] = [];
  const events: ChatClientEvents = {
    state: (s) => states.push(s), message: (m) => seen.push(m.seq), updated: () => undefined, history: () => undefined,
    ack: () => undefined, presence: () => undefined, typing: () => undefined, error: () => undefined, joined: () => undefined, caughtUp: () => undefined,
  };
  const client = new ChatClient(1, 'ws://x/socket', events, {
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    fetchToken: async () => 'tok',
    random: () => 0.5,
  });
  return { client, seen, states };
}

async function connected(client: ChatClient, lastSeq = 0): Promise<FakeSocket> {
  const n = FakeSocket.instances.length;
  await vi.waitFor(() => expect(FakeSocket.instances.length).toBe(n + 1));
  const ws = FakeSocket.instances[n]!;
  ws.open();
  ws.push({ type: 'hello', protocol: 1, connectionId: 'c', replica: 'r', user: me, heartbeatMs: 25_000 });
  const join = ws.sent.at(-1)!;
  expect(join.type).toBe('join');
  ws.push({ type: 'joined', room: { id: 1, name: 'r', kind: 'public', archived: false }, lastSeq, resumedFrom: (join as { sinceSeq?: number }).sinceSeq ?? lastSeq });
  return ws;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ChatClient', () => {
  it('hands moderation and archive frames of its room (or all rooms) to the optional handlers, not others', async () => {
    FakeSocket.instances = [];
    const moderation: ServerFrame[] = [];
    const archived: boolean[] = [];
    const client = new ChatClient(1, 'ws://x/socket', {
      state: () => undefined, message: () => undefined, updated: () => undefined, history: () => undefined, ack: () => undefined,
      presence: () => undefined, typing: () => undefined, error: () => undefined, joined: () => undefined, caughtUp: () => undefined,
      moderation: (f) => moderation.push(f), archived: (a) => archived.push(a),
    }, { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, fetchToken: async () => 'tok', random: () => 0.5 });
    client.start();
    const ws = await connected(client);
    const mine = { type: 'moderation', room: 1, action: 'muted', userId: 7, until: '2030-01-01T00:00:00.000Z' } as const;
    const everywhere = { type: 'moderation', room: null, action: 'unmuted', userId: 9, until: null } as const;
    ws.push(mine);
    ws.push({ ...mine, room: 2 });
    ws.push(everywhere);
    ws.push({ type: 'archived', room: 2, archived: true });
    ws.push({ type: 'archived', room: 1, archived: true });
    expect(moderation).toEqual([mine, everywhere]);
    expect(archived).toEqual([true]);
    // Without the optional handlers nothing breaks.
    const { client: plain } = setup();
    plain.start();
    const ws2 = await connected(plain);
    ws2.push(mine);
    ws2.push({ type: 'archived', room: 1, archived: false });
    client.stop();
    plain.stop();
  });

  it('stops for good when removed from its room (no rejoin, no reconnect); a plain `left` of another room is ignored', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    FakeSocket.instances = [];
    let removed = 0;
    const client = new ChatClient(1, 'ws://x/socket', {
      state: () => undefined, message: () => undefined, updated: () => undefined, history: () => undefined, ack: () => undefined,
      presence: () => undefined, typing: () => undefined, error: () => undefined, joined: () => undefined, caughtUp: () => undefined,
      removed: () => removed++,
    }, { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, fetchToken: async () => 'tok', random: () => 0.5 });
    client.start();
    const ws = await connected(client);
    ws.push({ type: 'caught_up', room: 1, seq: 0 });
    ws.push({ type: 'left', room: 2, reason: 'removed' });
    ws.push({ type: 'left', room: 1 });
    expect(removed).toBe(0);
    expect(ws.readyState).toBe(1);
    const sentBefore = ws.sent.length;
    ws.push({ type: 'left', room: 1, reason: 'removed' });
    expect(removed).toBe(1);
    expect(ws.readyState).toBe(3);
    client.send('too late');
    ws.drop(1000);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(ws.sent.length).toBe(sentBefore);
  });

  it('never shows a gap: a hole in the stream makes it rejoin from its last seq and ignore the old stream', async () => {
    const { client, seen } = setup();
    client.start();
    const ws = await connected(client);
    ws.push({ type: 'message', room: 1, message: msg(1) });
    ws.push({ type: 'message', room: 1, message: msg(3) }); // 2 is missing
    expect(seen).toEqual([1]);
    expect(ws.sent.at(-1)).toEqual({ type: 'join', room: 1, sinceSeq: 1, sinceVersion: 0, presence: 'diff' });
    ws.push({ type: 'message', room: 1, message: msg(4) }); // old subscription: ignored until `joined`
    ws.push({ type: 'joined', room: { id: 1, name: 'r', kind: 'public', archived: false }, lastSeq: 4, resumedFrom: 1 });
    for (const s of [2, 3, 4]) ws.push({ type: 'message', room: 1, message: msg(s) });
    ws.push({ type: 'message', room: 1, message: msg(3) }); // a duplicate is dropped
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(client.gapsRepaired).toBe(1);
    client.stop();
  });

  it('keeps a send until acked or seen as its own; another author\'s equal client id does not settle it', async () => {
    const { client } = setup();
    client.start();
    const ws = await connected(client);
    ws.push({ type: 'caught_up', room: 1, seq: 0 });
    const id = client.send('hello');
    expect(ws.sent.at(-1)).toMatchObject({ type: 'send', clientId: id, body: 'hello' });
    ws.push({ type: 'message', room: 1, message: msg(1, id, other) });
    expect(client.pendingCount()).toBe(1);
    ws.push({ type: 'message', room: 1, message: msg(2, id, me) });
    expect(client.pendingCount()).toBe(0);
    client.stop();
  });

  it('retries rate-limited sends with the same client id and drops final failures', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const { client } = setup();
    client.start();
    const ws = await connected(client);
    ws.push({ type: 'caught_up', room: 1, seq: 0 });
    const a = client.send('a');
    const b = client.send('b');
    ws.sent.length = 0;
    ws.push({ type: 'error', code: 'rate_limited', message: 'slow down', ref: a, retryInMs: 300 });
    ws.push({ type: 'error', code: 'too_large', message: 'no', ref: b });
    expect(client.pendingCount()).toBe(1);
    vi.advanceTimersByTime(299);
    expect(ws.sent).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(ws.sent).toEqual([{ type: 'send', room: 1, clientId: a, body: 'a' }]);
    client.stop();
  });

  it('after a drop: reconnects with jitter, resumes from its last seq, resends unacked sends in order', async () => {
    const { client, states } = setup();
    client.start();
    const ws = await connected(client);
    ws.push({ type: 'message', room: 1, message: msg(1) });
    ws.push({ type: 'caught_up', room: 1, seq: 1 });
    const first = client.send('one');
    const second = client.send('two');
    ws.drop(1012, 'service restart');
    expect(states.at(-1)).toBe('reconnecting');
    const ws2 = await connected(client, 1);
    expect(ws2.sent[0]).toEqual({ type: 'join', room: 1, sinceSeq: 1, sinceVersion: 0, presence: 'diff' });
    expect(ws2.sent.filter((f) => f.type === 'send')).toEqual([]); // not before caught_up
    ws2.push({ type: 'caught_up', room: 1, seq: 1 });
    expect(ws2.sent.filter((f) => f.type === 'send').map((f) => (f as { clientId: string }).clientId)).toEqual([first, second]);
    expect(client.state).toBe('open');
    client.stop();
  });

  it('stops for good when the session is revoked (4001)', async () => {
    const { client, states } = setup();
    client.start();
    const ws = await connected(client);
    ws.drop(4001, 'kicked');
    expect(states.at(-1)).toBe('revoked');
    await new Promise((r) => setTimeout(r, 700));
    expect(FakeSocket.instances).toHaveLength(1);
  });
});
