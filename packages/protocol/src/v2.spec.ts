import { describe, expect, it } from 'vitest';
import type { ChatMessage, ServerFrame, UserRef } from './index.ts';
import { type ServerFrameV2, V2_DECODER_USERS_MAX, V2Decoder, toV2, usersOf, usersOfFrame, wireMessage } from './v2.ts';

const ann: UserRef = { id: 7, handle: 'ann', displayName: 'Ann Example' };
const bob: UserRef = { id: 8, handle: 'bob', displayName: 'Bob' };

const plain: ChatMessage = {
  id: 101, roomId: 3, seq: 12, author: ann, clientId: 'c-1', body: 'hello there',
  createdAt: '2026-12-02T10:27:24.123Z', editedAt: null, deletedAt: null,
};
const full: ChatMessage = {
  ...plain, seq: 13, id: 102, author: bob, editedAt: '2026-12-02T10:28:00.000Z', version: 55,
  reactions: [{ emoji: '👍', count: 2, userIds: [7, 8], handles: ['ann', 'bob'] }],
  replyTo: { seq: 12, author: ann, excerpt: 'hello there', deleted: false },
  attachments: [{ id: 'a1b2', name: 'x.png', size: 10, contentType: 'image/png', image: { width: 4, height: 3 } }],
};
const deleted: ChatMessage = {
  ...plain, seq: 14, id: 103, body: '', deletedAt: '2026-12-02T10:29:00.001Z', version: 56,
  replyTo: { seq: 1, author: null, excerpt: '', deleted: true },
};

/** Encode as the server does, decode as the clients do (users frames first, as the server sends them). */
function roundTrip(frames: ServerFrame[]): ServerFrame[] {
  const decoder = new V2Decoder();
  const wire = frames.flatMap((f): ServerFrameV2[] => [{ type: 'users', users: usersOfFrame(f) }, toV2(f)]);
  return wire.map((f) => decoder.decode(JSON.parse(JSON.stringify(f)) as ServerFrameV2)).filter((f) => f !== null);
}

describe('protocol version 2', () => {
  it('gives back the same version 1 frames, message fields included', () => {
    const frames: ServerFrame[] = [
      { type: 'message', room: 3, message: plain },
      { type: 'message', room: 3, message: full },
      { type: 'updated', room: 3, message: deleted },
      { type: 'history', room: 3, messages: [plain, full, deleted], hasMore: true, hasNewer: false, aroundSeq: 13 },
      { type: 'ack', room: 3, clientId: 'c-1', seq: 12, id: 101, createdAt: plain.createdAt, duplicate: false },
      { type: 'ack', room: 3, clientId: 'c-1', seq: 12, id: 101, createdAt: plain.createdAt, duplicate: true },
      { type: 'caught_up', room: 3, seq: 14 },
      { type: 'typing', room: 3, user: bob },
    ];
    expect(roundTrip(frames)).toEqual(frames);
  });

  it('says a message without nulls, without its room id and with its author as an id', () => {
    const wire = toV2({ type: 'message', room: 3, message: plain });
    expect(wire).toEqual({ type: 'message', room: 3, i: 101, s: 12, a: 7, c: 'c-1', b: 'hello there', t: Date.parse(plain.createdAt) });
    const json = JSON.stringify(wire);
    expect(json).not.toContain('null');
    expect(json).not.toContain('ann');
    // The same message in version 1 is more than half as long again.
    expect(JSON.stringify({ type: 'message', room: 3, message: plain }).length).toBeGreaterThan(json.length * 1.5);
  });

  it('names only the users a frame refers to by id', () => {
    expect(usersOf(plain)).toEqual([ann]);
    expect(usersOf(full)).toEqual([bob, ann]);
    expect(usersOf({ ...plain, replyTo: { seq: 1, author: ann, excerpt: '', deleted: false } })).toEqual([ann]);
    expect(usersOfFrame({ type: 'caught_up', room: 1, seq: 1 })).toEqual([]);
    expect(wireMessage(deleted).r).toEqual({ s: 1, x: '', d: true });
  });

  it('says the protocol version in hello and keeps profiles across frames', () => {
    expect(toV2({ type: 'hello', protocol: 1, connectionId: 'c', replica: 'r', user: ann, heartbeatMs: 1 })).toMatchObject({ type: 'hello', protocol: 2 });
    const decoder = new V2Decoder();
    expect(decoder.decode({ type: 'users', users: [ann] })).toBeNull();
    const later = decoder.decode(toV2({ type: 'message', room: 3, message: plain }));
    expect(later).toEqual({ type: 'message', room: 3, message: plain });
  });

  it('takes a profile sent again as the current one (a rename) for the messages after it', () => {
    const decoder = new V2Decoder();
    decoder.decode({ type: 'users', users: [ann] });
    const before = decoder.decode(toV2({ type: 'message', room: 3, message: plain }));
    const renamed: UserRef = { ...ann, handle: 'annie', displayName: 'Annie New' };
    decoder.decode({ type: 'users', users: [renamed] });
    const after = decoder.decode(toV2({ type: 'message', room: 3, message: { ...plain, seq: 15, author: renamed } }));
    expect(before?.type === 'message' && before.message.author).toEqual(ann);
    expect(after?.type === 'message' && after.message.author).toEqual(renamed);
  });

  it('keeps at most V2_DECODER_USERS_MAX profiles, forgetting the one introduced longest ago', () => {
    const decoder = new V2Decoder();
    const u = (id: number): UserRef => ({ id, handle: `h${id}`, displayName: `H${id}` });
    decoder.decode({ type: 'users', users: [u(1), u(2)] });
    decoder.decode({ type: 'users', users: [u(1)] }); // introduced again: now the newest
    for (let id = 3; id <= V2_DECODER_USERS_MAX + 1; id++) decoder.decode({ type: 'users', users: [u(id)] });
    expect(decoder.users.size).toBe(V2_DECODER_USERS_MAX);
    expect(decoder.users.has(2)).toBe(false);
    expect(decoder.users.get(1)).toEqual(u(1));
  });
});
