// Protocol version 2 on a real replica (Postgres, Redis): a parley.v2 socket hears who an author is (a
// `users` frame) before their first message, resumes after a reconnect with nothing lost (and is told
// the authors again: the new socket knows no one), and decodes to exactly the version 1 frames a
// parley.v1 socket in the same room gets; and a renamed author is introduced again on a live v2 socket.
import { describe, expect } from 'vitest';
import { type ServerFrame, type ServerFrameV2, V2Decoder } from '@parley/protocol';
import { createChatRoom, createChatUser } from '../packages/devtools/src/chat-fixtures.ts';
import { type TestSocket, waitFor } from './support/ws-client.ts';
import { e2eTest } from './support/fixtures.ts';

const test = e2eTest({
  label: 'chat_v2',
  stack: { chatReplicas: 1, admin: false, chatEnv: { SEND_RATE_PER_SEC: '400', SEND_BURST: '50', LOG_LEVEL: 'warn' } },
});

const raw = (s: TestSocket) => s.frames as unknown as ServerFrameV2[];
/** Seqs of the message frames a v2 socket got (v2 messages carry `s`). */
const v2Seqs = (s: TestSocket) => raw(s).flatMap((f) => (f.type === 'message' ? [f.s] : []));

/** Every v2 message's author (and replied-to author) was introduced earlier on this socket, once. */
function introductionProblems(s: TestSocket): string[] {
  const known = new Set<number>();
  const problems: string[] = [];
  for (const f of raw(s)) {
    if (f.type === 'users') {
      for (const u of f.users) {
        if (known.has(u.id)) problems.push(`user ${u.id} introduced twice`);
        known.add(u.id);
      }
    } else if (f.type === 'message' && !known.has(f.a)) problems.push(`message ${f.s} before its author ${f.a} was introduced`);
  }
  return problems;
}

function decodedMessages(s: TestSocket): ServerFrame[] {
  const decoder = new V2Decoder();
  return raw(s).map((f) => decoder.decode(f)).filter((f): f is ServerFrame => f?.type === 'message');
}

describe('protocol version 2 on a real replica', () => {
  test('users before messages, resume after a reconnect with no loss, v1 and v2 sockets side by side', async ({ db, sockets }) => {
    const [alice, bob, reader2, reader1] = await Promise.all([createChatUser(db.pool, 'v2alice'), createChatUser(db.pool, 'v2bob'), createChatUser(db.pool, 'v2reader'), createChatUser(db.pool, 'v1reader')]);
    const room = await createChatRoom(db.pool);
    const a = await sockets.open(alice); // a v1 writer
    const b = await sockets.open(bob, { protocol: 'parley.v2' });
    const r2 = await sockets.open(reader2, { protocol: 'parley.v2' });
    const r1 = await sockets.open(reader1);
    expect(r2.ws.protocol).toBe('parley.v2');
    expect(r1.ws.protocol).toBe('parley.v1');
    expect(raw(r2)[0]).toMatchObject({ type: 'hello', protocol: 2, user: { id: reader2.id } });
    expect(r1.frames[0]).toMatchObject({ type: 'hello', protocol: 1 });
    for (const s of [a, b, r2, r1]) {
      s.send({ type: 'join', room });
      await s.next('caught_up');
    }

    const sendRound = async (from: number, to: number, v2Reader: TestSocket | null) => {
      for (let i = from; i < to; i++) (i % 2 ? b : a).send({ type: 'send', room, clientId: `v2-${i}`, body: `message ${i}` });
      await waitFor(() => r1.all('message').length >= to && (!v2Reader || v2Seqs(v2Reader).length >= to), `${to} messages at the readers`);
    };
    await sendRound(0, 6, r2);
    // Acks: v1 shape for the v1 writer, lean for the v2 one.
    expect(a.all('ack')[0]).toMatchObject({ clientId: 'v2-0', duplicate: false });
    expect(raw(b).find((f) => f.type === 'ack')).toMatchObject({ c: 'v2-1', room });
    // v1 readers still get the author's profile inside each message.
    const v1Authors = r1.all('message').map((f) => f.message.author);
    expect(new Set(v1Authors.map((u) => u.handle))).toEqual(new Set([alice.handle, bob.handle]));
    expect(v2Seqs(r2)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(introductionProblems(r2)).toEqual([]);
    expect(raw(r2).filter((f) => f.type === 'users')).toHaveLength(2);
    expect(decodedMessages(r2)).toEqual(r1.all('message'));

    // The v2 reader goes away; four messages later it resumes on a new socket from the last seq it saw.
    r2.close();
    await sendRound(6, 10, null);
    const back = await sockets.open(reader2, { protocol: 'parley.v2' });
    back.send({ type: 'join', room, sinceSeq: 6 });
    expect(await back.next('caught_up')).toMatchObject({ seq: 10 });
    expect(v2Seqs(back)).toEqual([7, 8, 9, 10]);
    expect(introductionProblems(back)).toEqual([]);
    expect(raw(back).filter((f) => f.type === 'users').flatMap((f) => (f.type === 'users' ? f.users.map((u) => u.id) : [])).sort((x, y) => x - y)).toEqual([alice.id, bob.id].sort((x, y) => x - y));
    expect(decodedMessages(back)).toEqual(r1.all('message').slice(6));

    // History in v2 decodes to the same messages too.
    back.send({ type: 'history', room, beforeSeq: 11, limit: 10 });
    const page = await back.next('history');
    const decoded = new V2Decoder();
    for (const f of raw(back)) decoded.decode(f);
    const history = decoded.decode(page as unknown as ServerFrameV2);
    expect(history).toMatchObject({ type: 'history', hasMore: false, beforeSeq: 11 });
    expect(history?.type === 'history' && history.messages).toEqual(r1.all('message').map((f) => f.message));
  });

  test('a renamed author is introduced again: the v2 socket shows the new name without reconnecting', async ({ db, sockets }) => {
    const [writer, reader] = await Promise.all([createChatUser(db.pool, 'v2renamed'), createChatUser(db.pool, 'v2watcher')]);
    const room = await createChatRoom(db.pool);
    const w = await sockets.open(writer);
    const r = await sockets.open(reader, { protocol: 'parley.v2' });
    for (const s of [w, r]) {
      s.send({ type: 'join', room });
      await s.next('caught_up');
    }
    const send = async (clientId: string, seq: number) => {
      w.send({ type: 'send', room, clientId, body: clientId });
      await waitFor(() => v2Seqs(r).includes(seq), `message ${seq} at the v2 reader`);
    };
    await send('before-rename', 1);
    // What the admin profile route does (user-repository.ts); the chat server reads the author's profile
    // from the users table when it stores a message.
    const newHandle = `${writer.handle.slice(0, 30)}_r`;
    await db.pool.query('UPDATE users SET handle = $2, display_name = $3, updated_at = now() WHERE id = $1', [writer.id, newHandle, 'Renamed Writer']);
    await send('after-rename', 2);
    await send('after-rename-2', 3);
    const authors = decodedMessages(r).flatMap((f) => (f.type === 'message' ? [f.message.author] : []));
    const before = { id: writer.id, handle: writer.handle, displayName: writer.displayName };
    const after = { id: writer.id, handle: newHandle, displayName: 'Renamed Writer' };
    expect(authors).toEqual([before, after, after]);
    // Introduced once as they were and once renamed, not once per message.
    expect(raw(r).filter((f) => f.type === 'users')).toHaveLength(2);
  });
});
