// One chat replica as a real process: the protocol's error codes and limits, private rooms and DMs,
// resume and history paging, the join/backlog seam under live traffic, slow consumers, dead peers,
// the internal API (stats, 413) and control events committed in Postgres (moderator delete, mute,
// session revoke, ban, role change) acting on open sockets and at upgrade.
import { describe, expect, it } from 'vitest';
import type { Stack, TestDatabase } from '@parley/devtools';
import { chatTokenFor, createChatRoom, createChatUser, roomMessages, type ChatTestUser } from '../packages/devtools/src/chat-fixtures.ts';
import { TestSocket, waitFor } from './support/ws-client.ts';
import { banUser, changeRole, moderatorDelete, muteMember, revokeSession } from './support/admin-actions.ts';
import { e2eTest } from './support/fixtures.ts';
import type { SocketJar } from './support/sockets.ts';

const HEARTBEAT_MS = 1_500;
const MAX_BUFFERED_BYTES = 256 * 1024;

const test = e2eTest({
  label: 'chat_protocol',
  stack: {
    chatReplicas: 1,
    admin: false,
    chatEnv: {
      SEND_RATE_PER_SEC: '400',
      SEND_BURST: '20',
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
      HISTORY_PAGE_SIZE: '7',
      REVALIDATE_MS: '1000',
      LOG_LEVEL: 'warn',
    },
  },
});
let db: TestDatabase;
let stack: Stack;
let sockets: SocketJar;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, sockets: j }) => void ([db, stack, sockets] = [d, s, j]));

const chat = () => stack.chats[0]!;
const open = (user: ChatTestUser, sessionId?: string): Promise<TestSocket> => sockets.open(user, { sessionId });

async function internal(path: string, body?: unknown, token = stack.secrets.INTERNAL_TOKEN): Promise<Response> {
  return fetch(`${chat().url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-internal-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function stats(): Promise<{ counters: Record<string, number>; replicas: Array<{ replica: string; connections: number; rooms: number; messagesPerMinute?: number }>; messagesPerMinute: number }> {
  return (await (await internal('/internal/stats')).json()) as never;
}

/** Store `n` messages straight into Postgres (fast fixtures for paging tests). */
async function seedMessages(roomId: number, author: ChatTestUser, n: number, bodyPrefix = 'seeded '): Promise<void> {
  await db.pool.query(
    `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body)
     SELECT $1::bigint, g, $2::bigint, 'seed-' || $1::text || '-' || g, $3::text || g FROM generate_series(1, $4::int) g`,
    [roomId, author.id, bodyPrefix, n],
  );
  await db.pool.query('UPDATE rooms SET last_seq = $2 WHERE id = $1', [roomId, n]);
}

async function joined(s: TestSocket, room: number, sinceSeq?: number): Promise<void> {
  s.send(sinceSeq === undefined ? { type: 'join', room } : { type: 'join', room, sinceSeq });
  await s.next('caught_up', (f) => f.room === room);
}

describe('chat protocol on a real replica', () => {
  it('answers bad input with error codes and keeps the connection and server alive', async () => {
    const u = await createChatUser(db.pool, 'bad');
    const room = await createChatRoom(db.pool);
    const s = await open(u);
    const expectError = async (code: string) => {
      const f = await s.next('error');
      s.clear();
      expect(f.code).toBe(code);
      return f;
    };
    s.sendRaw('{not json');
    await expectError('bad_json');
    s.send({ type: 'launch_missiles' });
    await expectError('unknown_type');
    // A deeply nested `type` (within MAX_FRAME_BYTES) is described, not walked: no stack overflow.
    s.sendRaw(`{"type":${'['.repeat(7_000)}${']'.repeat(7_000)}}`);
    expect((await expectError('unknown_type')).message).toContain('an array');
    s.sendRaw(`{"type":${'{"a":'.repeat(2_500)}1${'}'.repeat(2_500)}}`);
    expect((await expectError('unknown_type')).message).toContain('an object');
    const badJoin: Record<string, unknown> = { type: 'join', room: 'one' };
    s.send(badJoin);
    await expectError('bad_frame');
    s.sendRaw(Buffer.from([1, 2, 3]));
    await expectError('bad_frame');
    s.send({ type: 'send', room, clientId: 'early', body: 'before joining' });
    expect((await expectError('not_joined')).ref).toBe('early');
    s.send({ type: 'join', room: 999_999 });
    await expectError('not_found');
    s.send({ type: 'send', room, clientId: 'x'.repeat(20), body: 'y'.repeat(20_000) }); // frame > MAX_FRAME_BYTES
    await expectError('too_large');
    await joined(s, room);
    s.clear();
    s.send({ type: 'send', room, clientId: 'big', body: 'é'.repeat(2049) }); // 4098 bytes > 4096
    expect(await expectError('too_large')).toMatchObject({ ref: 'big', room });
    s.send({ type: 'send', room, clientId: 'nul', body: 'a\u0000b' });
    await expectError('bad_frame');
    s.send({ type: 'send', room, clientId: 'fits', body: 'é'.repeat(2048) }); // exactly 4096 bytes
    expect((await s.next('ack')).clientId).toBe('fits');
    s.send({ type: 'ping', ref: 'still-there' });
    expect((await s.next('pong')).ref).toBe('still-there');
    expect(s.closed).toBeNull();
    // Only an absurd frame (above the socket's hard cap) closes the connection, with 1009.
    s.sendRaw('x'.repeat(200_000));
    expect((await s.waitClose()).code).toBe(1009);
    expect((await fetch(`${chat().url}/healthz`)).status).toBe(200);
  });

  it('private rooms and direct messages are for members only (same answer as a missing room)', async () => {
    const [ann, bob, eve] = await Promise.all(['pa', 'pb', 'pe'].map((l) => createChatUser(db.pool, l)));
    const priv = await createChatRoom(db.pool, { kind: 'private', members: [ann!] });
    const dm = await createChatRoom(db.pool, { kind: 'direct', members: [ann!, bob!] });
    const e = await open(eve!);
    for (const room of [priv, dm]) {
      e.send({ type: 'join', room });
      expect(await e.next('error', (f) => f.room === room)).toMatchObject({ code: 'not_found' });
    }
    const a = await open(ann!);
    const b = await open(bob!);
    await joined(a, priv);
    await joined(a, dm);
    await joined(b, dm);
    b.send({ type: 'join', room: priv });
    expect((await b.next('error', (f) => f.room === priv)).code).toBe('not_found');
    a.send({ type: 'send', room: dm, clientId: 'dm1', body: 'just us' });
    expect((await b.next('message', (f) => f.room === dm)).message.body).toBe('just us');
    expect(e.all('message')).toHaveLength(0);
  });

  it('limits each user\'s send rate with a retry hint, and acks exactly what it stored', async () => {
    const u = await createChatUser(db.pool, 'rate');
    const room = await createChatRoom(db.pool);
    const s = await open(u);
    await joined(s, room);
    for (let i = 0; i < 60; i++) s.send({ type: 'send', room, clientId: `r${i}`, body: `m${i}` });
    await waitFor(() => s.all('ack').length + s.all('error').length === 60, 'an answer to every send', 10_000);
    const limited = s.all('error').filter((f) => f.code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.retryInMs).toBeGreaterThan(0);
    const stored = await roomMessages(db.pool, room);
    expect(stored.map((m) => m.clientId).sort()).toEqual(s.all('ack').map((a) => a.clientId).sort());
    // Sends from one connection are stored in the order they were sent.
    expect(stored.map((m) => Number(m.clientId.slice(1)))).toEqual([...stored.map((m) => Number(m.clientId.slice(1)))].sort((a, b) => a - b));
  });

  it('resumes from any seq through every page of the backlog, and pages history backwards', async () => {
    const u = await createChatUser(db.pool, 'resume');
    const room = await createChatRoom(db.pool);
    await seedMessages(room, u, 130);
    const s = await open(u);
    s.send({ type: 'join', room, sinceSeq: 3 });
    const caught = await s.next('caught_up');
    expect(caught.seq).toBe(130);
    expect(s.all('message').map((f) => f.message.seq)).toEqual(Array.from({ length: 127 }, (_, i) => i + 4));
    expect(s.all('joined')[0]).toMatchObject({ lastSeq: 130, resumedFrom: 3 });

    // A fresh join starts with the latest page; history pages backwards to the first message.
    const t = await open(u);
    await joined(t, room);
    const live = t.all('message').map((f) => f.message.seq);
    expect(live).toEqual(Array.from({ length: 50 }, (_, i) => i + 81));
    let before = live[0]!;
    const older: number[] = [];
    for (let guard = 0; guard < 20; guard++) {
      t.clear();
      t.send({ type: 'history', room, beforeSeq: before, limit: 30 });
      const page = await t.next('history');
      older.unshift(...page.messages.map((m) => m.seq));
      if (!page.hasMore) break;
      before = page.messages[0]!.seq;
    }
    expect(older).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
  });

  it('opens a window around a seq, then pages newer messages up to the live end', async () => {
    const u = await createChatUser(db.pool, 'around');
    const room = await createChatRoom(db.pool);
    await seedMessages(room, u, 120);
    const s = await open(u);
    await joined(s, room);
    s.clear();
    s.send({ type: 'history', room, aroundSeq: 30, limit: 20 });
    const window = await s.next('history');
    expect(window).toMatchObject({ aroundSeq: 30, hasMore: true, hasNewer: true });
    expect(window.messages.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21));
    // Near the first message: the window is cut there and says so.
    s.clear();
    s.send({ type: 'history', room, aroundSeq: 2, limit: 20 });
    const start = await s.next('history');
    expect(start.messages.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(start).toMatchObject({ hasMore: false, hasNewer: true });
    // Forward paging reaches the end, which says hasNewer: false.
    let after = window.messages.at(-1)!.seq;
    const newer: number[] = [];
    for (let guard = 0; guard < 10; guard++) {
      s.clear();
      s.send({ type: 'history', room, afterSeq: after, limit: 40 });
      const page = await s.next('history');
      expect(page.afterSeq).toBe(after);
      newer.push(...page.messages.map((m) => m.seq));
      if (!page.hasNewer) break;
      after = page.messages.at(-1)!.seq;
    }
    expect(newer).toEqual(Array.from({ length: 80 }, (_, i) => i + 41));
    // Two anchors are one too many.
    s.clear();
    s.send({ type: 'history', room, aroundSeq: 5, afterSeq: 5 });
    expect(await s.next('error')).toMatchObject({ code: 'bad_frame' });
  });

  it('has no gap or duplicate at the join seam while messages keep arriving', async () => {
    const [writer, reader] = await Promise.all([createChatUser(db.pool, 'seamw'), createChatUser(db.pool, 'seamr')]);
    const room = await createChatRoom(db.pool);
    await seedMessages(room, writer, 40);
    const w = await open(writer);
    await joined(w, room);
    let sending = true;
    let n = 0;
    const sender = (async () => {
      while (sending && n < 400) {
        w.send({ type: 'send', room, clientId: `seam-${n}`, body: `live ${n}` });
        n++;
        await new Promise((r) => setTimeout(r, 4));
      }
    })();
    try {
      for (let round = 0; round < 12; round++) {
        const r = await open(reader);
        const since = Math.max(0, 40 + n - 30 - round * 3);
        r.send({ type: 'join', room, sinceSeq: since });
        const joinedFrame = await r.next('joined');
        const caught = await r.next('caught_up');
        const target = caught.seq + 5;
        await r.next('message', (f) => f.message.seq >= target, 5_000).catch(() => undefined);
        const seqs = r.all('message').map((f) => f.message.seq);
        const from = joinedFrame.resumedFrom!;
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => from + 1 + i));
        // caught_up names the last message sent before it
        const beforeCaught = r.frames.slice(0, r.frames.indexOf(caught)).filter((f) => f.type === 'message').length;
        expect(caught.seq).toBe(from + beforeCaught);
        r.close();
      }
    } finally {
      sending = false;
      await sender;
    }
  });

  it('closes a slow consumer with 4008 instead of buffering without bound', async () => {
    const u = await createChatUser(db.pool, 'slow');
    const room = await createChatRoom(db.pool);
    await seedMessages(room, u, 200, `${'z'.repeat(3000)} `);
    const s = await open(u);
    await joined(s, room, 200);
    const before = (await stats()).counters.slowConsumersClosed ?? 0;
    s.pauseReading();
    for (let i = 0; i < 60; i++) s.send({ type: 'history', room, beforeSeq: 201, limit: 200 }); // ≈ 36 MB of answers
    await waitFor(async () => ((await stats()).counters.slowConsumersClosed ?? 0) > before, 'the server to close the slow consumer', 15_000, 50);
    s.resumeReading();
    expect((await s.waitClose(5_000)).code).toBe(4008);
  });

  it('drops a dead peer (no pongs) within two heartbeats', async () => {
    const u = await createChatUser(db.pool, 'dead');
    const s = await open(u);
    // Counted in the server's own heartbeats, not milliseconds: a live socket is pinged once per tick.
    const witness = await open(await createChatUser(db.pool, 'alive'));
    let ticks = 0;
    witness.ws.on('ping', () => ticks++);
    const before = (await stats()).counters.deadPeersDropped ?? 0;
    s.pauseReading();
    await waitFor(async () => ((await stats()).counters.deadPeersDropped ?? 0) > before, 'the dead peer to be dropped', HEARTBEAT_MS * 20, 50);
    // One tick pings it unanswered, the next drops it; one more allowed for this poll to notice.
    expect(ticks).toBeGreaterThanOrEqual(1); // the heartbeat dropped it (and the count works)
    expect(ticks).toBeLessThanOrEqual(3);
    expect(witness.closed).toBeNull();
    s.resumeReading();
  });

  it('internal API: refuses without the token, reports stats, answers 413 to an oversized body', async () => {
    expect((await internal('/internal/stats', undefined, 'wrong')).status).toBe(401);
    const [ann, bob] = await Promise.all([createChatUser(db.pool, 'sann'), createChatUser(db.pool, 'sbob')]);
    const room = await createChatRoom(db.pool);
    const a = await open(ann);
    const b = await open(bob);
    await joined(a, room);
    await joined(b, room);
    a.send({ type: 'send', room, clientId: 'counted', body: 'hello' });
    await a.next('ack');
    const st = await stats();
    expect(st.replicas[0]).toMatchObject({ replica: 'chat-0' });
    expect(st.replicas[0]!.connections).toBeGreaterThanOrEqual(2);
    expect(st.replicas[0]!.rooms).toBeGreaterThanOrEqual(1);
    expect(st.messagesPerMinute).toBeGreaterThanOrEqual(1);
    expect((await internal('/internal/control/poke', {})).status).toBe(202);
    const big = await internal('/internal/control/poke', { padding: 'x'.repeat(100_000) });
    expect(big.status).toBe(413);
    // The old at-most-once endpoints are gone (admin writes control events instead).
    expect((await internal('/internal/kick', { userId: ann.id })).status).toBe(404);
    expect((await internal('/internal/moderation', { action: 'unmuted', room, userId: ann.id, until: null })).status).toBe(404);
  });

  it('re-validation closes a socket whose user was deactivated even without any control event', async () => {
    const [gone, stays] = await Promise.all([createChatUser(db.pool, 'rvgone'), createChatUser(db.pool, 'rvstay')]);
    const g = await open(gone);
    const s = await open(stays);
    const t0 = Date.now();
    await db.pool.query("UPDATE users SET status = 'deactivated' WHERE id = $1", [gone.id]); // no event: only the timer can see it
    expect(await g.waitClose(30_000)).toMatchObject({ code: 4001 });
    console.log(`re-validation closed the socket after ${Date.now() - t0} ms (REVALIDATE_MS 1000)`);
    s.send({ type: 'ping', ref: 'alive' });
    expect((await s.next('pong')).ref).toBe('alive');
  });

  it('a socket ends when its session reaches its absolute lifetime (from the token), while another stays', async () => {
    const [ending, stays] = await Promise.all([createChatUser(db.pool, 'absend'), createChatUser(db.pool, 'absstay')]);
    const e = await TestSocket.open(chat().wsUrl, chatTokenFor(ending, stack.secrets.CHAT_TOKEN_SECRET, undefined, 300, Date.now() + 2_000));
    sockets.keep(e);
    await e.next('hello');
    const s = await open(stays);
    expect(await e.waitClose(30_000)).toMatchObject({ code: 4001, reason: 'your session ended; log in again' });
    s.send({ type: 'ping', ref: 'still-here' });
    expect((await s.next('pong')).ref).toBe('still-here');
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(ending, stack.secrets.CHAT_TOKEN_SECRET, undefined, 300, Date.now() - 1_000))).rejects.toMatchObject({ status: 401 });
  });

  it('control events: moderator delete, mute/unmute, session revoke, role change and ban act on open sockets and at upgrade', async () => {
    const [mod, ann, bob, cat] = await Promise.all([createChatUser(db.pool, 'mod', 'moderator'), createChatUser(db.pool, 'kann'), createChatUser(db.pool, 'kbob'), createChatUser(db.pool, 'kcat')]);
    const room = await createChatRoom(db.pool, { members: [ann, bob, cat] });
    const a = await open(ann);
    const b = await open(bob, 'bob-session');
    const c = await open(cat);
    for (const s of [a, b, c]) await joined(s, room);
    a.send({ type: 'send', room, clientId: 'to-delete', body: 'rude' });
    const ack = await a.next('ack');

    // A moderator's own socket cannot delete someone else's message (that path would skip the audit log).
    const modSock = await open(mod);
    await joined(modSock, room);
    modSock.send({ type: 'delete', room, seq: ack.seq });
    expect((await modSock.next('error', (f) => f.room === room)).code).toBe('forbidden');
    modSock.close();

    // Moderator delete (as admin commits it): everyone in the room sees it deleted, with its version.
    const version = await moderatorDelete(db.pool, room, ack.seq, mod.id);
    expect((await b.next('updated')).message).toMatchObject({ seq: ack.seq, body: '', version });
    expect(b.all('updated')).toHaveLength(1);

    // Mute: the room is told, the user's sends and edits are refused until unmuted.
    await muteMember(db.pool, room, ann.id, new Date(Date.now() + 60_000));
    expect(await a.next('moderation')).toMatchObject({ action: 'muted', userId: ann.id });
    expect(a.all('moderation')).toHaveLength(1);
    a.send({ type: 'send', room, clientId: 'while-muted', body: 'hmm' });
    expect((await a.next('error', (f) => f.ref === 'while-muted')).code).toBe('muted');
    a.send({ type: 'edit', room, seq: ack.seq, body: 'edited while muted' });
    expect((await a.next('error', (f) => f.code === 'muted' && f.ref === undefined)).room).toBe(room);
    await muteMember(db.pool, room, ann.id, null);
    await a.next('moderation', (f) => f.action === 'unmuted');
    a.send({ type: 'send', room, clientId: 'after-unmute', body: 'ok' });
    expect((await a.next('ack', (f) => f.clientId === 'after-unmute')).duplicate).toBe(false);

    // A mute made while someone is not connected holds when they join later (read from room_mutes,
    // which also holds mutes of people who are not members of a public room).
    await muteMember(db.pool, room, mod.id, new Date(Date.now() + 60_000));
    const modAgain = await open(mod);
    await joined(modAgain, room);
    modAgain.send({ type: 'send', room, clientId: 'muted-at-join', body: 'hello?' });
    expect((await modAgain.next('error', (f) => f.ref === 'muted-at-join')).code).toBe('muted');
    modAgain.close();

    // Revoke a session: its socket closes with 4001 and its tokens are refused at upgrade.
    await revokeSession(db.pool, bob.id, 'bob-session', 'bye');
    expect(await b.waitClose()).toMatchObject({ code: 4001, reason: 'bye' });
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(bob, stack.secrets.CHAT_TOKEN_SECRET, 'bob-session'))).rejects.toMatchObject({ status: 401 });
    await open(bob, 'bob-other-session'); // another session of bob is fine

    // Role change: the socket is told to get a new token (4002); a token with the old role is refused.
    await changeRole(db.pool, cat.id, 'moderator');
    expect((await c.waitClose()).code).toBe(4002);
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(cat, stack.secrets.CHAT_TOKEN_SECRET))).rejects.toMatchObject({ status: 401 });
    await open({ ...cat, role: 'moderator' });

    // Ban: every session of the user closes, and their tokens are refused.
    await banUser(db.pool, ann.id);
    expect(await a.waitClose()).toMatchObject({ code: 4001 });
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(ann, stack.secrets.CHAT_TOKEN_SECRET))).rejects.toMatchObject({ status: 401 });
  });
});
