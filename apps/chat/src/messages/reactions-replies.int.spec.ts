// Reactions and replies against a real Postgres: an idempotent reaction toggle that bumps the message's
// version with a control event (so a resume by sinceVersion re-sends it), the summary served by every
// read path, the distinct-emoji cap, and replies with their excerpt (and "deleted" once the original is).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlEventsAfter, lastControlEventId } from '@parley/db';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { MAX_REACTION_EMOJIS } from '@parley/protocol';
import { MessageRepository } from './message-repository.ts';

let db: TestDatabase;
let repo: MessageRepository;
const users: number[] = [];
let room: number;

async function post(authorId: number, body: string, replyTo?: number) {
  const { message } = await repo.store({ roomId: room, authorId, clientId: `c-${Math.random().toString(36).slice(2)}`, body, replyTo: replyTo ?? null });
  return message;
}

beforeAll(async () => {
  db = await createTestDatabase('reactions');
  repo = new MessageRepository(db.pool);
  for (let i = 0; i < 3; i++) {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO users (email, handle, display_name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
      [`r${i}@example.test`, `reactor_${i}`, `Reactor ${i}`],
    );
    users.push(Number(rows[0]!.id));
  }
  const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO rooms (name, kind) VALUES ('reactions', 'public') RETURNING id`);
  room = Number(rows[0]!.id);
});

afterAll(async () => {
  await repo?.writer.idle();
  await db?.drop();
});

describe('reactions', () => {
  it('set and clear are idempotent; each change bumps the version with a message_updated event', async () => {
    const m = await post(users[0]!, 'react to me');
    const before = await lastControlEventId(db.pool);
    const first = await repo.react(room, m.seq, users[1]!, '👍', true);
    expect(first).toMatchObject({ changed: true });
    expect(await repo.react(room, m.seq, users[1]!, '👍', true)).toEqual({ changed: false }); // a retry changes nothing
    await repo.react(room, m.seq, users[2]!, '👍', true);
    await repo.react(room, m.seq, users[2]!, '🎉', true);
    const events = await controlEventsAfter(db.pool, before);
    expect(events.map((e) => [e.kind, e.roomId === null ? null : Number(e.roomId), e.seq === null ? null : Number(e.seq)]))
      .toEqual([['message_updated', room, m.seq], ['message_updated', room, m.seq], ['message_updated', room, m.seq]]);
    const now = await repo.bySeq(room, m.seq);
    expect(now?.version).toBe(events.at(-1)!.id);
    expect(now?.reactions).toEqual([
      { emoji: '👍', count: 2, userIds: [users[1], users[2]], handles: ['reactor_1', 'reactor_2'] },
      { emoji: '🎉', count: 1, userIds: [users[2]], handles: ['reactor_2'] },
    ]);

    const cleared = await repo.react(room, m.seq, users[1]!, '👍', false);
    expect(cleared).toMatchObject({ changed: true });
    expect(await repo.react(room, m.seq, users[1]!, '👍', false)).toEqual({ changed: false });
    expect((await repo.bySeq(room, m.seq))?.reactions?.[0]).toEqual({ emoji: '👍', count: 1, userIds: [users[2]], handles: ['reactor_2'] });
  });

  it('a resume by sinceVersion returns the message with its current reactions; every read path carries them', async () => {
    const m = await post(users[0]!, 'resume me');
    const seen = (await repo.bySeq(room, m.seq))!;
    const sinceVersion = (await lastControlEventId(db.pool));
    await repo.react(room, m.seq, users[1]!, '❤️', true);
    const changed = await repo.changedSince(room, m.seq, sinceVersion, 100);
    expect(changed.map((c) => c.seq)).toEqual([seen.seq]);
    expect(changed[0]!.reactions).toEqual([{ emoji: '❤️', count: 1, userIds: [users[1]], handles: ['reactor_1'] }]);
    const after = await repo.after(room, m.seq - 1, 10);
    expect(after[0]!.reactions?.[0]?.emoji).toBe('❤️');
    const page = await repo.before(room, m.seq + 1, 1);
    expect(page.messages[0]!.reactions?.[0]?.count).toBe(1);
    const [viaKeys] = await repo.bySeqs([{ roomId: room, seq: m.seq }]);
    expect(viaKeys!.reactions?.[0]?.userIds).toEqual([users[1]]);
  });

  it('refuses deleted messages, missing ones, archived rooms, and more than the distinct-emoji cap', async () => {
    const m = await post(users[0]!, 'many');
    const emojis = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰', '😗', '😙', '🥲', '😚', '🙂', '🤗'];
    expect(emojis.length).toBeGreaterThan(MAX_REACTION_EMOJIS);
    for (const e of emojis.slice(0, MAX_REACTION_EMOJIS)) expect(await repo.react(room, m.seq, users[1]!, e, true)).toMatchObject({ changed: true });
    expect(await repo.react(room, m.seq, users[2]!, emojis[MAX_REACTION_EMOJIS]!, true)).toBe('too_many');
    expect(await repo.react(room, m.seq, users[2]!, emojis[0]!, true)).toMatchObject({ changed: true }); // an existing emoji is fine
    expect(await repo.react(room, 99_999, users[1]!, '👍', true)).toBe('not_found');
    await repo.softDelete(room, m.seq, users[0]!);
    expect(await repo.react(room, m.seq, users[1]!, '👍', true)).toBe('deleted');
    expect((await repo.bySeq(room, m.seq))?.reactions).toBeUndefined(); // a deleted message shows none

    const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO rooms (name, kind) VALUES ('arch', 'public') RETURNING id`);
    const archivedRoom = Number(rows[0]!.id);
    const { message: a } = await repo.store({ roomId: archivedRoom, authorId: users[0]!, clientId: 'arch-1', body: 'x' });
    await db.pool.query('UPDATE rooms SET archived_at = now() WHERE id = $1', [archivedRoom]);
    expect(await repo.react(archivedRoom, a.seq, users[1]!, '👍', true)).toBe('archived');
  });

  it('concurrent reactions on one message are all counted once', async () => {
    const m = await post(users[0]!, 'race');
    await Promise.all(users.flatMap((u) => [repo.react(room, m.seq, u, '🔥', true), repo.react(room, m.seq, u, '🔥', true)]));
    expect((await repo.bySeq(room, m.seq))?.reactions).toEqual([{ emoji: '🔥', count: 3, userIds: expect.any(Array) as unknown, handles: expect.any(Array) as unknown }]);
  });
});

describe('replies', () => {
  it('a reply carries the original seq, author and excerpt, in the ack and every read path', async () => {
    const original = await post(users[0]!, 'x'.repeat(300));
    const reply = await post(users[1]!, 'answer', original.seq);
    expect(reply.replyTo).toEqual({ seq: original.seq, author: { id: users[0], handle: 'reactor_0', displayName: 'Reactor 0' }, excerpt: 'x'.repeat(140), deleted: false });
    expect((await repo.bySeq(room, reply.seq))?.replyTo).toEqual(reply.replyTo);
    expect((await repo.after(room, reply.seq - 1, 1))[0]?.replyTo?.seq).toBe(original.seq);
    // Many replies written by the group commit at once (the hot path) each keep theirs.
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => post(users[i % 3]!, `r${i}`, i % 2 ? original.seq : undefined)));
    expect(many.map((m) => m.replyTo?.seq ?? null)).toEqual(many.map((_, i) => (i % 2 ? original.seq : null)));
    const plain = await post(users[1]!, 'not a reply');
    expect(plain.replyTo).toBeUndefined();
  });

  it('shows the original as deleted once it is, and ignores a reply to a seq not in the room', async () => {
    const original = await post(users[0]!, 'soon gone');
    const reply = await post(users[1]!, 'to the gone one', original.seq);
    await repo.softDelete(room, original.seq, users[0]!);
    expect((await repo.bySeq(room, reply.seq))?.replyTo).toMatchObject({ seq: original.seq, excerpt: '', deleted: true });
    const stray = await post(users[1]!, 'reply to nothing', 1_000_000);
    expect(stray.replyTo).toBeUndefined();
    expect((await repo.bySeq(room, stray.seq))?.body).toBe('reply to nothing'); // stored, as a plain message
  });

  it('the one-by-one fallback path stores replies too', async () => {
    const original = await post(users[0]!, 'fallback original');
    const held = await db.pool.connect();
    try {
      const r = await repo.writer.storeOne(held, { roomId: room, authorId: users[2]!, clientId: 'fallback-reply', body: 'via storeOne', replyTo: original.seq });
      expect(r.message.replyTo).toMatchObject({ seq: original.seq, excerpt: 'fallback original', deleted: false });
    } finally {
      held.release();
    }
  });
});
