// ChatConnection (one socket, many rooms) against a scripted fake socket: per-room order and resume,
// outbox per room, read pointer re-sent after a reconnect, the fast application ping and the
// browser's offline event.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { ChatConnection, type ConnectionState } from './chat-connection.ts';
import { FakeSocket, me, other } from './socket-test-kit.ts';

const msg = (room: number, seq: number, author = other, version?: number): ChatMessage => ({
  id: room * 1000 + seq, roomId: room, seq, author, clientId: `c${room}-${seq}`, body: `m${seq}`, createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null,
  ...(version ? { version } : {}),
});
const info = (id: number) => ({ id, name: `r${id}`, kind: 'public' as const, archived: false });

function setup(options: { pingEveryMs?: number } = {}) {
  FakeSocket.instances = [];
  const states: ConnectionState[] = [];
  const seen: Record<number, number[]> = { 1: [], 2: [] };
  const reads: Array<[number, number]> = [];
  const conversations: Array<[number, string]> = [];
  const conn = new ChatConnection('ws://x/socket', {
    state: (s) => states.push(s),
    conversation: (room, change) => conversations.push([room, change]),
  }, { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, fetchToken: async () => 'tok', random: () => 0.5, ...options });
  for (const room of [1, 2]) conn.watch(room, { message: (m) => seen[room]!.push(m.seq), read: (seq) => reads.push([room, seq]) });
  return { conn, states, seen, reads, conversations };
}

async function connect(lastSeqs: Record<number, number> = { 1: 0, 2: 0 }): Promise<FakeSocket> {
  const n = FakeSocket.instances.length;
  await vi.waitFor(() => expect(FakeSocket.instances.length).toBe(n + 1));
  const ws = FakeSocket.instances[n]!;
  ws.readyState = 1;
  ws.push({ type: 'hello', protocol: 1, connectionId: 'c', replica: 'r', user: me, heartbeatMs: 25_000 });
  for (const frame of ws.sent.filter((f) => f.type === 'join')) {
    const join = frame;
    ws.push({ type: 'joined', room: info(join.room), lastSeq: lastSeqs[join.room] ?? 0, resumedFrom: join.sinceSeq ?? lastSeqs[join.room] ?? 0 });
  }
  return ws;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ChatConnection', () => {
  it('joins every watched room on one socket; open only when all caught up; each room keeps its own order', async () => {
    const { conn, states, seen } = setup();
    conn.start();
    const ws = await connect();
    expect(ws.sent.filter((f) => f.type === 'join')).toEqual([{ type: 'join', room: 1, presence: 'diff' }, { type: 'join', room: 2, presence: 'diff' }]);
    ws.push({ type: 'caught_up', room: 1, seq: 0 });
    expect(conn.state).not.toBe('open');
    ws.push({ type: 'caught_up', room: 2, seq: 0 });
    expect(states.at(-1)).toBe('open');
    ws.push({ type: 'message', room: 1, message: msg(1, 1) });
    ws.push({ type: 'message', room: 2, message: msg(2, 1) });
    ws.push({ type: 'message', room: 2, message: msg(2, 3) }); // gap in room 2 only
    expect(seen).toEqual({ 1: [1], 2: [1] });
    expect(ws.sent.at(-1)).toEqual({ type: 'join', room: 2, sinceSeq: 1, sinceVersion: 0, presence: 'diff' });
    ws.push({ type: 'message', room: 1, message: msg(1, 2) }); // room 1 unaffected
    expect(seen[1]).toEqual([1, 2]);
    expect(conn.gapsRepaired).toBe(1);
    conn.stop();
  });

  it('after a drop: resumes each room from its own seq and highest version, resends each room\'s outbox after its caught_up, and re-sends the read pointer', async () => {
    const { conn } = setup();
    conn.start();
    const ws = await connect();
    for (const room of [1, 2]) ws.push({ type: 'caught_up', room, seq: 0 });
    ws.push({ type: 'message', room: 1, message: msg(1, 1, other, 41) });
    ws.push({ type: 'updated', room: 1, message: msg(1, 1, other, 45) });
    conn.markRead(1, 1);
    expect(ws.sent.at(-1)).toEqual({ type: 'read', room: 1, seq: 1 });
    conn.markRead(1, 1); // not again
    expect(ws.sent.filter((f) => f.type === 'read')).toHaveLength(1);
    const a = conn.send(1, 'to one');
    const b = conn.send(2, 'to two');
    ws.onclose?.({ code: 1012, reason: 'restart' });
    const ws2 = await connect({ 1: 1, 2: 0 });
    expect(ws2.sent.filter((f) => f.type === 'join')).toEqual([
      { type: 'join', room: 1, sinceSeq: 1, sinceVersion: 45, presence: 'diff' },
      { type: 'join', room: 2, sinceSeq: 0, sinceVersion: 0, presence: 'diff' },
    ]);
    ws2.push({ type: 'caught_up', room: 2, seq: 0 });
    expect(ws2.sent.filter((f) => f.type === 'send').map((f) => (f as { clientId: string }).clientId)).toEqual([b]);
    ws2.push({ type: 'caught_up', room: 1, seq: 1 });
    expect(ws2.sent.filter((f) => f.type === 'send').map((f) => (f as { clientId: string }).clientId)).toEqual([b, a]);
    expect(ws2.sent.filter((f) => f.type === 'read')).toEqual([{ type: 'read', room: 1, seq: 1 }]);
    conn.stop();
  });

  it('a send carries its attachment ids, and so does its resend after a drop; a send without files has no field', async () => {
    const { conn } = setup();
    conn.start();
    const ws = await connect();
    for (const room of [1, 2]) ws.push({ type: 'caught_up', room, seq: 0 });
    const ids = ['0b6f1f52-3d7e-4c1a-9f0e-2a4c8d1e5b77'];
    const withFiles = conn.send(1, '', undefined, undefined, ids);
    const plain = conn.send(1, 'plain', undefined, undefined, []);
    expect(ws.sent.filter((f) => f.type === 'send')).toEqual([
      { type: 'send', room: 1, clientId: withFiles, body: '', attachments: ids },
      { type: 'send', room: 1, clientId: plain, body: 'plain' },
    ]);
    ws.onclose?.({ code: 1012, reason: 'restart' });
    const ws2 = await connect();
    ws2.push({ type: 'caught_up', room: 1, seq: 0 });
    expect(ws2.sent.filter((f) => f.type === 'send')).toEqual([
      { type: 'send', room: 1, clientId: withFiles, body: '', attachments: ids },
      { type: 'send', room: 1, clientId: plain, body: 'plain' },
    ]);
    conn.stop();
  });

  it('a room joined later resumes from the highest version seen anywhere before its join (not from 0)', async () => {
    const { conn } = setup();
    conn.start();
    const ws = await connect();
    for (const room of [1, 2]) ws.push({ type: 'caught_up', room, seq: 0 });
    ws.push({ type: 'updated', room: 1, message: msg(1, 1, other, 70) });
    conn.watch(3, {});
    expect(ws.sent.at(-1)).toEqual({ type: 'join', room: 3, presence: 'diff' });
    ws.push({ type: 'joined', room: info(3), lastSeq: 5, resumedFrom: 0 });
    for (let seq = 1; seq <= 5; seq++) ws.push({ type: 'message', room: 3, message: msg(3, seq) });
    ws.push({ type: 'caught_up', room: 3, seq: 5 });
    ws.onclose?.({ code: 1012, reason: 'restart' });
    const ws2 = await connect({ 1: 0, 2: 0, 3: 5 });
    expect(ws2.sent.find((f) => f.type === 'join' && f.room === 3)).toEqual({ type: 'join', room: 3, sinceSeq: 5, sinceVersion: 70, presence: 'diff' });
    conn.stop();
  });

  it('hands read and conversation frames to their handlers; a removal stops only that room', async () => {
    const { conn, reads, conversations, seen } = setup();
    conn.start();
    const ws = await connect();
    for (const room of [1, 2]) ws.push({ type: 'caught_up', room, seq: 0 });
    ws.push({ type: 'read', room: 2, seq: 9 });
    ws.push({ type: 'conversation', room: 3, change: 'added' });
    expect(reads).toEqual([[2, 9]]);
    expect(conversations).toEqual([[3, 'added']]);
    conn.send(1, 'pending in 1');
    ws.push({ type: 'left', room: 1, reason: 'removed' });
    expect(conn.watching(1)).toBe(false);
    expect(conn.pendingCount()).toBe(0);
    ws.push({ type: 'message', room: 2, message: msg(2, 1) });
    expect(seen[2]).toEqual([1]);
    expect(ws.readyState).toBe(1);
    conn.stop();
  });

  it('fast ping: pings a quiet socket and gives it up after 2 × pingEveryMs (+0.5 s) of silence', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { conn, states } = setup({ pingEveryMs: 2_000 });
    conn.start();
    const ws = await connect();
    for (const room of [1, 2]) ws.push({ type: 'caught_up', room, seq: 0 });
    await vi.advanceTimersByTimeAsync(2_600);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(1);
    ws.push({ type: 'pong' }); // alive
    await vi.advanceTimersByTimeAsync(3_000);
    expect(states.at(-1)).toBe('open');
    await vi.advanceTimersByTimeAsync(2_000); // 5 s of silence since the pong
    expect(states.at(-1)).toBe('reconnecting');
    expect(ws.readyState).toBe(3);
    conn.stop();
  });

  it('applies the presence snapshot and diffs of a room, keeps only the count in a big room, and asks for pages', async () => {
    const { conn } = setup();
    const calls: Array<[number[], number, boolean]> = [];
    const pages: number[][] = [];
    conn.watch(3, { presence: (users, count, listed) => calls.push([users.map((u) => u.id), count, listed]), presenceList: (f) => pages.push(f.users.map((u) => u.id)) });
    conn.start();
    const ws = await connect();
    ws.push({ type: 'joined', room: info(3), lastSeq: 0, resumedFrom: 0 });
    ws.push({ type: 'presence', room: 3, users: [other, me], count: 2 });
    ws.push({ type: 'presence_diff', room: 3, joined: [], left: [other.id], count: 1 });
    ws.push({ type: 'presence_diff', room: 3, count: 300 });
    expect(calls).toEqual([[[me, other].sort((a, b) => a.handle.localeCompare(b.handle)).map((u) => u.id), 2, true], [[me.id], 1, true], [[], 300, false]]);
    conn.presenceList(3, 'ann');
    expect(ws.sent.at(-1)).toEqual({ type: 'presence_list', room: 3, limit: 100, after: 'ann' });
    ws.push({ type: 'presence_list', room: 3, users: [other], count: 300, after: 'ann', hasMore: true });
    expect(pages).toEqual([[other.id]]);
  });
});
