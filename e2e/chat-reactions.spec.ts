// Reactions and replies over real sockets across two chat replicas (separate processes, one Postgres,
// one Redis): a reaction on replica A reaches replica B live as `updated`, a retry changes nothing, a
// reconnect with sinceVersion sees the current reactions, and a reply carries its original's excerpt.
import { describe, expect, it } from 'vitest';
import { reactionRef } from '@parley/protocol';
import type { TestDatabase } from '@parley/devtools';
import { createChatRoom, createChatUser, type ChatTestUser } from '../packages/devtools/src/chat-fixtures.ts';
import { e2eTest } from './support/fixtures.ts';
import type { SocketJar } from './support/sockets.ts';
import type { TestSocket } from './support/ws-client.ts';

const test = e2eTest({
  label: 'chat_reactions',
  stack: { chatReplicas: 2, admin: false, chatEnv: { SEND_RATE_PER_SEC: '5', SEND_BURST: '8', LOG_LEVEL: 'warn' } },
});
let db: TestDatabase;
let sockets: SocketJar;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, sockets: j }) => void ([db, sockets] = [d, j]));

const open = (replica: number, user: ChatTestUser): Promise<TestSocket> => sockets.open(user, { replica });

/** Two new people in a new room, one on each replica, both joined and caught up. */
async function twoInOneRoom(annHandle: string, bobHandle: string) {
  const [ann, bob] = await Promise.all([createChatUser(db.pool, annHandle), createChatUser(db.pool, bobHandle)]);
  const room = await createChatRoom(db.pool);
  const a = await open(0, ann);
  const b = await open(1, bob);
  for (const s of [a, b]) {
    s.send({ type: 'join', room });
    await s.next('caught_up');
  }
  return { ann, bob, room, a, b };
}

describe('reactions and replies across replicas', () => {
  it('a reaction on replica A is live on replica B; retries are no-ops; a resume sees the current reactions', async () => {
    const { ann, bob, room, a, b } = await twoInOneRoom('xann', 'xbob');
    b.send({ type: 'send', room, clientId: 'orig', body: 'react to this' });
    const { seq } = await b.next('ack');
    await a.next('message', (f) => f.message.seq === seq);
    const seenVersion = 0;

    a.send({ type: 'react', room, seq, emoji: '👍', on: true });
    expect(await a.next('reacted')).toEqual({ type: 'reacted', room, seq, emoji: '👍', on: true, changed: true });
    const onB = await b.next('updated', (f) => f.message.seq === seq);
    expect(onB.message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [ann.id], handles: [ann.handle] }]);
    expect(onB.message.body).toBe('react to this');
    // A retry (same on/off) is answered and changes nothing: no second `updated`.
    a.send({ type: 'react', room, seq, emoji: '👍', on: true });
    expect((await a.next('reacted', (f) => f.changed === false)).on).toBe(true);
    b.send({ type: 'react', room, seq, emoji: '👍', on: true });
    const both = await a.next('updated', (f) => f.message.reactions?.[0]?.count === 2);
    expect(both.message.reactions?.[0]?.userIds).toEqual([ann.id, bob.id]);

    // Not an emoji, or a message that does not exist: refused.
    a.send({ type: 'react', room, seq, emoji: 'lol', on: true });
    expect((await a.next('error')).code).toBe('bad_frame');
    a.send({ type: 'react', room, seq: 9_999, emoji: '👍', on: true });
    // The error names the reaction it refuses, so a client tells it from errors of other frames.
    expect(await a.next('error', (f) => f.code !== 'bad_frame')).toMatchObject({ code: 'not_found', room, ref: reactionRef(9_999, '👍') });

    // b goes away; ann clears hers and adds another; b resumes on the other replica and sees the current state.
    b.close();
    a.send({ type: 'react', room, seq, emoji: '👍', on: false });
    a.send({ type: 'react', room, seq, emoji: '🎉', on: true });
    await a.next('updated', (f) => f.message.reactions?.some((r) => r.emoji === '🎉') === true);
    const back = await open(0, bob);
    back.send({ type: 'join', room, sinceSeq: seq, sinceVersion: seenVersion });
    await back.next('caught_up');
    const replayed = back.all('updated').filter((f) => f.message.seq === seq);
    expect(replayed).toHaveLength(1); // the message's current state once, not each change
    expect(replayed[0]!.message.reactions).toEqual([
      { emoji: '👍', count: 1, userIds: [bob.id], handles: [bob.handle] },
      { emoji: '🎉', count: 1, userIds: [ann.id], handles: [ann.handle] },
    ]);
    // A fresh join (no resume) gets the reactions in the message itself.
    const fresh = await open(1, bob);
    fresh.send({ type: 'join', room });
    expect((await fresh.next('message', (f) => f.message.seq === seq)).message.reactions?.map((r) => r.emoji)).toEqual(['👍', '🎉']);
  });

  it('a flood of reactions is limited by the write budget', async () => {
    const [ann] = await Promise.all([createChatUser(db.pool, 'xflood')]);
    const room = await createChatRoom(db.pool);
    const a = await open(1, ann);
    a.send({ type: 'join', room });
    await a.next('caught_up');
    a.send({ type: 'send', room, clientId: 'f0', body: 'flood target' });
    const { seq } = await a.next('ack');
    for (let i = 0; i < 30; i++) a.send({ type: 'react', room, seq, emoji: '🔥', on: i % 2 === 0 });
    const limited = await a.next('error', (f) => f.code === 'rate_limited');
    expect(limited.retryInMs).toBeGreaterThan(0);
    expect(limited.ref).toBe(reactionRef(seq, '🔥'));
  });

  it('a reply carries the quoted original across replicas, and shows it deleted after a delete', async () => {
    const { ann, bob, room, a, b } = await twoInOneRoom('yann', 'ybob');
    a.send({ type: 'send', room, clientId: 'q', body: 'the question' });
    const { seq } = await a.next('ack');
    await b.next('message', (f) => f.message.seq === seq);
    b.send({ type: 'send', room, clientId: 'r', body: 'the answer', replyTo: seq });
    const ack = await b.next('ack');
    const onA = await a.next('message', (f) => f.message.seq === ack.seq);
    expect(onA.message.replyTo).toEqual({ seq, author: { id: ann.id, handle: ann.handle, displayName: expect.any(String) as unknown }, excerpt: 'the question', deleted: false });
    a.send({ type: 'delete', room, seq });
    await b.next('updated', (f) => f.message.seq === seq);
    const later = await open(0, bob);
    later.send({ type: 'join', room });
    expect((await later.next('message', (f) => f.message.seq === ack.seq)).message.replyTo).toMatchObject({ seq, excerpt: '', deleted: true });
  });
});
