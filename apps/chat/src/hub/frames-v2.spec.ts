// Protocol version 2 on the hub: a v2 socket gets a `users` frame before the first frame naming someone
// new (backlog and live), lean message and ack frames, the same bytes as every other v2 socket for a
// message; a v1 socket in the same room keeps getting version 1 frames.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { type ChatMessage, type ServerFrame, SUBPROTOCOL_V2, type UserRef, V2_DECODER_USERS_MAX, V2Decoder } from '@parley/protocol';
import type { RoomAccess, StoreResult } from '../messages/message-repository.ts';
import { KNOWN_USERS_MAX, KnownUsers, SharedMessage } from './frames-v2.ts';
import type { Hub } from './hub.ts';
import { FakeWs, scriptedHub } from './hub-test-kit.ts';

const ROOM = 5;
const user = (id: number) => ({ id, handle: `u${id}`, displayName: `U${id}` });
const msg = (seq: number, authorId: number, clientId = `c${seq}`): ChatMessage => ({
  id: 500 + seq, roomId: ROOM, seq, author: user(authorId), clientId, body: `m${seq}`, createdAt: new Date(1_000 * seq).toISOString(), editedAt: null, deletedAt: null,
});

/** A fake socket of a client that negotiated parley.v2, keeping the raw bytes it was sent. */
class FakeWsV2 extends FakeWs {
  readonly protocol = SUBPROTOCOL_V2;
  readonly raw: Array<string | Buffer> = [];
  override send(data: string | Buffer): void {
    this.raw.push(data);
    super.send(data);
  }
}

const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

function setup(backlog: ChatMessage[]) {
  const stored: ChatMessage[] = [...backlog];
  /** Profiles changed since (as the users table says when a message is stored). */
  const renamed = new Map<number, UserRef>();
  /** While set, backlog reads wait for it (a slow Postgres). */
  let gate: Promise<void> | null = null;
  const roomAccess = async (): Promise<RoomAccess> => ({ room: { id: ROOM, name: 'r', kind: 'public', archived: false }, lastSeq: stored.length, isMember: true, mutedUntil: null });
  const t = scriptedHub({
    roomAccess,
    after: async (_room: number, afterSeq: number) => {
      if (gate) await gate;
      return stored.filter((m) => m.seq > afterSeq);
    },
    lastSeqs: async () => new Map(),
    store: async (m: { authorId: number; clientId: string }): Promise<StoreResult> => {
      const message = msg(stored.length + 1, m.authorId, m.clientId);
      message.author = renamed.get(m.authorId) ?? message.author;
      stored.push(message);
      return { message, duplicate: false };
    },
  });
  hubs.push(t.hub);
  const attachV2 = (uid: number) => {
    const ws = new FakeWsV2();
    t.hub.attach(ws as unknown as WebSocket, { uid, sid: `s${uid}`, handle: `u${uid}`, name: `U${uid}`, role: 'user', iat: 0, exp: 0 }, 'req');
    return ws;
  };
  /** Hold backlog reads until the returned function is called. */
  const holdBacklog = () => {
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    return release;
  };
  return { ...t, attachV2, holdBacklog, renamed };
}

async function join(ws: FakeWs) {
  ws.receive({ type: 'join', room: ROOM });
  await vi.waitFor(() => expect(ws.frames.some((f) => f.type === 'caught_up')).toBe(true));
}

const types = (ws: FakeWs) => ws.frames.map((f) => f.type as string);

describe('protocol version 2 on the hub', () => {
  it('introduces authors once per socket, before their first message, backlog and live; v1 sockets see v1 frames', async () => {
    const t = setup([msg(1, 20), msg(2, 21), msg(3, 20)]);
    const v2 = t.attachV2(1);
    const v2b = t.attachV2(2);
    const v1 = t.connect(3);
    expect(v2.frames[0]).toMatchObject({ type: 'hello', protocol: 2 });
    expect(v1.frames[0]).toMatchObject({ type: 'hello', protocol: 1 });
    for (const ws of [v2, v2b, v1]) await join(ws);
    // Backlog: 20 then 21 introduced right before their first message, not again for seq 3.
    const backlog = v2.frames.filter((f) => (f.type as string) === 'users' || f.type === 'message');
    expect(backlog).toEqual([
      { type: 'users', users: [user(20)] },
      { type: 'message', room: ROOM, i: 501, s: 1, a: 20, c: 'c1', b: 'm1', t: 1_000 },
      { type: 'users', users: [user(21)] },
      { type: 'message', room: ROOM, i: 502, s: 2, a: 21, c: 'c2', b: 'm2', t: 2_000 },
      { type: 'message', room: ROOM, i: 503, s: 3, a: 20, c: 'c3', b: 'm3', t: 3_000 },
    ]);
    v2.frames.length = 0;
    v2.raw.length = 0;
    v2b.raw.length = 0;

    // Live: user 3 (a v1 socket) sends; the v2 sockets learn who 3 is first, then the message.
    v1.receive({ type: 'send', room: ROOM, clientId: 'live-1', body: 'm4' });
    await vi.waitFor(() => expect(v2.frames.some((f) => f.type === 'message')).toBe(true));
    expect(types(v2)).toEqual(['users', 'message']);
    const live = v2.raw.at(-1)!;
    expect(Buffer.isBuffer(live)).toBe(true);
    expect(v2b.raw.at(-1)).toBe(live); // encoded once, the same bytes for every v2 socket
    // The v1 sender gets a v1 ack and a v1 message with the author's profile in it.
    expect(v1.frames.find((f) => f.type === 'ack')).toMatchObject({ clientId: 'live-1', seq: 4, duplicate: false });
    expect(v1.frames.find((f) => f.type === 'message' && f.message.seq === 4)).toEqual({ type: 'message', room: ROOM, message: msg(4, 3, 'live-1') });
    // What the v2 socket got decodes to exactly the v1 message.
    const decoder = new V2Decoder();
    const decoded = v2.frames.map((f) => decoder.decode(f as never)).filter((f): f is ServerFrame => f !== null);
    expect(decoded).toEqual([{ type: 'message', room: ROOM, message: msg(4, 3, 'live-1') }]);
  });

  it('a message that arrives while a v2 socket replays its backlog is introduced when it is sent, not when it was buffered', async () => {
    const t = setup([msg(1, 20)]);
    const writer = t.connect(21);
    await join(writer);
    // The reader's backlog read waits until released; meanwhile user 21 sends (buffered for the reader).
    const release = t.holdBacklog();
    const reader = t.attachV2(1);
    reader.receive({ type: 'join', room: ROOM, sinceSeq: 0 });
    await vi.waitFor(() => expect(reader.frames.some((f) => f.type === 'joined')).toBe(true));
    writer.receive({ type: 'send', room: ROOM, clientId: 'during', body: 'm2' });
    await vi.waitFor(() => expect(writer.frames.some((f) => f.type === 'ack')).toBe(true));
    expect(reader.frames.some((f) => f.type === 'message')).toBe(false);
    release();
    await vi.waitFor(() => expect(reader.frames.some((f) => f.type === 'caught_up')).toBe(true));
    const stream = reader.frames.filter((f) => (f.type as string) === 'users' || f.type === 'message').map((f) => f as unknown as { type: string; s?: number; users?: Array<{ id: number }> });
    expect(stream.map((f) => (f.type === 'users' ? `users ${f.users!.map((u) => u.id).join()}` : `message ${f.s}`))).toEqual(['users 20', 'message 1', 'users 21', 'message 2']);
  });

  it('introduces a renamed author again, so a v2 socket shows the new name without reconnecting', async () => {
    const t = setup([msg(1, 20)]);
    const reader = t.attachV2(1);
    const writer = t.connect(20);
    for (const ws of [reader, writer]) await join(ws);
    const send = async (clientId: string) => {
      writer.receive({ type: 'send', room: ROOM, clientId, body: clientId });
      await vi.waitFor(() => expect(reader.frames.some((f) => f.type === 'message' && (f as unknown as { c: string }).c === clientId)).toBe(true));
    };
    await send('same-name');
    t.renamed.set(20, { id: 20, handle: 'u20-new', displayName: 'New Name' });
    await send('new-name');
    await send('new-name-again');
    const decoder = new V2Decoder();
    const authors = reader.frames.map((f) => decoder.decode(f as never)).flatMap((f) => (f?.type === 'message' ? [f.message.author.displayName] : []));
    expect(authors).toEqual(['U20', 'U20', 'New Name', 'New Name']);
    const introduced = reader.frames.flatMap((f) => ((f.type as string) === 'users' ? (f as unknown as { users: UserRef[] }).users.map((u) => u.displayName) : []));
    expect(introduced).toEqual(['U20', 'New Name']); // once per profile, not once per message
  });

  it('acks a v2 send in the lean form', async () => {
    const t = setup([]);
    const v2 = t.attachV2(9);
    await join(v2);
    v2.receive({ type: 'send', room: ROOM, clientId: 'x-1', body: 'hi' });
    await vi.waitFor(() => expect(v2.frames.some((f) => f.type === 'ack')).toBe(true));
    expect(v2.frames.find((f) => f.type === 'ack')).toEqual({ type: 'ack', room: ROOM, c: 'x-1', s: 1, i: 501, t: 1_000 });
  });
});

describe('KnownUsers and SharedMessage', () => {
  it('tells each user once, and starts over past KNOWN_USERS_MAX', () => {
    const known = new KnownUsers();
    expect(known.unknown([user(1), user(2), user(1)])).toEqual([user(1), user(2)]);
    expect(known.unknown([user(2)])).toEqual([]);
    for (let id = 3; id <= KNOWN_USERS_MAX; id++) known.unknown([user(id)]);
    expect(known.unknown([user(1)])).toEqual([]);
    expect(known.unknown([user(KNOWN_USERS_MAX + 1)])).toEqual([user(KNOWN_USERS_MAX + 1)]);
    expect(known.unknown([user(1)])).toEqual([user(1)]); // forgotten: sent again
    expect(KNOWN_USERS_MAX).toBeLessThan(V2_DECODER_USERS_MAX); // the client never forgets first
  });

  it('tells a user again when their profile changes, without starting over', () => {
    const known = new KnownUsers();
    for (let id = 1; id < KNOWN_USERS_MAX; id++) known.unknown([user(id)]);
    known.unknown([user(KNOWN_USERS_MAX)]); // full
    const renamed = { ...user(2), displayName: 'Renamed' };
    expect(known.unknown([renamed])).toEqual([renamed]);
    expect(known.unknown([{ ...renamed }])).toEqual([]); // an equal profile (another object) is known
    expect(known.unknown([user(1)])).toEqual([]); // the rename did not start the set over
    const handleOnly = { ...renamed, handle: 'other' };
    expect(known.unknown([handleOnly, user(3)])).toEqual([handleOnly]);
  });

  it('encodes each version once, when first needed', () => {
    const shared = new SharedMessage('updated', ROOM, msg(1, 20));
    expect(shared.v1()).toBe(shared.v1());
    expect(shared.v2()).toBe(shared.v2());
    expect(JSON.parse(shared.v1().toString())).toEqual({ type: 'updated', room: ROOM, message: msg(1, 20) });
    expect(JSON.parse(shared.v2().toString())).toEqual({ type: 'updated', room: ROOM, i: 501, s: 1, a: 20, c: 'c1', b: 'm1', t: 1_000 });
  });
});
