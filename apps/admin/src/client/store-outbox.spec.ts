// ChatStore against a scripted fake socket: reactions made while disconnected are kept and sent when
// the room catches up again (until the server answers `reacted`; a refused one is taken back, one
// answered "too fast" is sent again after the wait, uncounted; only errors naming a reaction count as
// its answer), send and retry take one path, and the
// conversation list is read again after a reconnect and after a `conversation` frame that arrives while
// a read is on its way (that read may predate the change); going to a closed DM opens it again.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ChatMessage, type ClientFrame, reactionRef } from '@parley/protocol';
import type { ChatStore, Conversation } from './store.ts';
import { FakeSocket, me, other, storeOnFakeSocket } from './socket-test-kit.ts';
import { MAX_REACTION_SENDS } from './reaction-outbox.ts';

const conv: Conversation = {
  id: 1, kind: 'public', name: 'Hall', topic: '', archived: false, lastSeq: 2, lastReadSeq: 2, unread: 0, mentionSeqs: [],
  lastActivityAt: null, notificationsMuted: false, peer: null, peers: [], hiddenThroughSeq: null,
};
const msg = (seq: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: 100 + seq, roomId: 1, seq, author: other, clientId: `c${seq}`, body: `m${seq}`, createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null, ...extra,
});
const info = { id: 1, name: 'Hall', kind: 'public' as const, archived: false };

/** Answers GET /api/conversations with the list (and any write with ok); counts the reads, records the writes. */
function stubListApi(): { reads: () => number; writes: string[]; hold: () => () => void } {
  let reads = 0;
  const writes: string[] = [];
  let gate: Promise<void> | null = null;
  vi.stubGlobal('document', { querySelector: () => null, visibilityState: 'visible' }); // the CSRF meta lookup
  vi.stubGlobal('fetch', async (url: string, init?: { method?: string }) => {
    if (init?.method === 'POST') {
      writes.push(url);
      return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
    }
    reads++;
    if (gate) await gate;
    return new Response(JSON.stringify({ conversations: [conv], roomMentioners: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  return {
    reads: () => reads,
    writes,
    /** Hold list reads until the returned function is called. */
    hold: () => {
      let release: () => void = () => undefined;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

/** The list API stubbed, and the store showing the room, caught up with its two messages. */
async function openRoom(): Promise<{ store: ChatStore; ws: FakeSocket; api: ReturnType<typeof stubListApi> }> {
  const api = stubListApi();
  const { store, ws } = await storeOnFakeSocket(conv);
  ws.push({ type: 'joined', room: info, lastSeq: 2, resumedFrom: 0 });
  for (const seq of [1, 2]) ws.push({ type: 'message', room: 1, message: msg(seq) });
  ws.push({ type: 'caught_up', room: 1, seq: 2 });
  return { store, ws, api };
}

/** The first reconnect after a drop done by the test itself. */
async function reconnectAfterDrop(dropped: FakeSocket): Promise<FakeSocket> {
  await vi.waitFor(() => expect(FakeSocket.instances.at(-1)).not.toBe(dropped), { timeout: 5_000 });
  const next = FakeSocket.instances.at(-1)!;
  next.readyState = 1;
  next.push({ type: 'hello', protocol: 1, connectionId: 'c2', replica: 'r', user: me, heartbeatMs: 25_000 });
  next.push({ type: 'joined', room: info, lastSeq: 2, resumedFrom: 2 });
  next.push({ type: 'caught_up', room: 1, seq: 2 });
  return next;
}

/** Drop the socket and let the store reconnect on a new one that catches the room up (no new messages). */
async function reconnect(ws: FakeSocket): Promise<FakeSocket> {
  ws.drop(1006);
  return reconnectAfterDrop(ws);
}

const reacts = (ws: FakeSocket) => ws.sent.filter((f): f is Extract<ClientFrame, { type: 'react' }> => f.type === 'react');

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('ChatStore: reactions made while disconnected', () => {
  it('are shown at once, sent when the room catches up again, and not again once the server answered', async () => {
    const { store, ws } = await openRoom();
    ws.drop(1006);
    const room = store.rooms.get(1)!;
    store.react(1, room.messages[1]!, '👍');
    expect(reacts(ws)).toEqual([]); // nowhere to send it
    expect(room.messages[1]!.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [me.id], handles: [me.handle] }]);
    expect(store.reactedWith(room.messages[1]!, '👍')).toBe(true);

    // Someone else's change to the message arrives first: mine stays on screen over it.
    const ws2 = await reconnectAfterDrop(ws);
    ws2.push({ type: 'updated', room: 1, message: msg(2, { version: 5, reactions: [{ emoji: '🎉', count: 1, userIds: [other.id], handles: [other.handle] }] }) });
    expect(room.messages[1]!.reactions?.map((r) => [r.emoji, r.userIds])).toEqual([['🎉', [other.id]], ['👍', [me.id]]]);
    expect(reacts(ws2)).toEqual([{ type: 'react', room: 1, seq: 2, emoji: '👍', on: true }]);

    ws2.push({ type: 'reacted', room: 1, seq: 2, emoji: '👍', on: true, changed: true });
    const ws3 = await reconnect(ws2);
    expect(reacts(ws3)).toEqual([]);
    store.connection.stop();
  });

  it('only the latest wish per emoji is sent (on then off while offline: off), and a refused one is given up', async () => {
    const { store, ws } = await openRoom();
    ws.drop(1006);
    const room = store.rooms.get(1)!;
    store.react(1, room.messages[0]!, '👍');
    store.react(1, room.messages[0]!, '👍');
    store.react(1, room.messages[1]!, '🎉');
    expect(room.messages[0]!.reactions).toBeUndefined();
    let socket = await reconnectAfterDrop(ws);
    expect(reacts(socket)).toEqual([{ type: 'react', room: 1, seq: 1, emoji: '👍', on: false }, { type: 'react', room: 1, seq: 2, emoji: '🎉', on: true }]);
    socket.push({ type: 'reacted', room: 1, seq: 1, emoji: '👍', on: false, changed: false });
    // The server never answers the other (say it refused it): it goes out on a few catch-ups, then no more.
    let sent = 1;
    for (let i = 1; i < MAX_REACTION_SENDS + 2; i++) {
      socket = await reconnect(socket);
      sent += reacts(socket).length;
    }
    expect(sent).toBe(MAX_REACTION_SENDS);
    store.connection.stop();
  });

  it('a refused reaction is taken back on screen; one answered "too fast" is sent again after the wait', async () => {
    const { store, ws } = await openRoom();
    const room = store.rooms.get(1)!;
    store.react(1, room.messages[0]!, '👍');
    store.react(1, room.messages[0]!, '🎉');
    expect(room.messages[0]!.reactions).toHaveLength(2);
    ws.push({ type: 'error', code: 'too_large', message: 'a message has at most 20 different reactions', room: 1, ref: reactionRef(1, '🎉') });
    expect(room.messages[0]!.reactions?.map((r) => r.emoji)).toEqual(['👍']); // only the refused one is taken back
    expect(room.error).toBe('a message has at most 20 different reactions');
    room.error = null;
    ws.push({ type: 'error', code: 'forbidden', message: 'this message is deleted', room: 1, ref: reactionRef(1, '👍') });
    expect(room.messages[0]!.reactions).toBeUndefined();
    expect(room.error).toBe('this message is deleted');
    room.error = null;

    store.react(1, room.messages[1]!, '🎉');
    ws.push({ type: 'error', code: 'rate_limited', message: 'reacting too fast; retry in 60 ms', room: 1, retryInMs: 60, ref: reactionRef(2, '🎉') });
    expect(room.error).toBeNull(); // nothing for the person to do
    expect(room.messages[1]!.reactions?.map((r) => r.emoji)).toEqual(['🎉']);
    await vi.waitFor(() => expect(reacts(ws).filter((f) => f.emoji === '🎉' && f.seq === 2)).toHaveLength(2));
    ws.push({ type: 'reacted', room: 1, seq: 2, emoji: '🎉', on: true, changed: true });
    store.connection.stop();
  });

  it('errors answering other frames of the room (edit, typing) leave outstanding reactions alone', async () => {
    const { store, ws } = await openRoom();
    const room = store.rooms.get(1)!;
    store.react(1, room.messages[0]!, '👍');
    store.react(1, room.messages[1]!, '🎉');
    const before = reacts(ws).length;
    // A refused edit and delete name no reaction: not taken for one (the error is shown as usual).
    ws.push({ type: 'error', code: 'forbidden', message: 'you can only edit your own messages that are not deleted', room: 1 });
    ws.push({ type: 'error', code: 'not_found', message: 'no message 9 in this room', room: 1 });
    expect(room.messages[0]!.reactions?.map((r) => r.emoji)).toEqual(['👍']);
    expect(room.messages[1]!.reactions?.map((r) => r.emoji)).toEqual(['🎉']);
    expect(store.reactedWith(room.messages[0]!, '👍')).toBe(true);
    // "Too fast" for typing: no reaction is sent again.
    ws.push({ type: 'error', code: 'rate_limited', message: 'too many frames; retry in 50 ms', room: 1, retryInMs: 50 });
    await new Promise((r) => setTimeout(r, 120));
    expect(reacts(ws)).toHaveLength(before);
    // Both still go out on the next catch-up (they are outstanding).
    const next = await reconnect(ws);
    expect(reacts(next).map((f) => f.emoji)).toEqual(['👍', '🎉']);
    store.connection.stop();
  });

  it('"too fast" retries do not count toward MAX_REACTION_SENDS: a reaction made offline survives a long wait', async () => {
    const { store, ws } = await openRoom();
    ws.drop(1006);
    const room = store.rooms.get(1)!;
    store.react(1, room.messages[0]!, '👍');
    const socket = await reconnectAfterDrop(ws);
    for (let i = 1; i <= MAX_REACTION_SENDS + 2; i++) {
      await vi.waitFor(() => expect(reacts(socket)).toHaveLength(i));
      socket.push({ type: 'error', code: 'rate_limited', message: 'reacting too fast; retry in 50 ms', room: 1, retryInMs: 50, ref: reactionRef(1, '👍') });
    }
    await vi.waitFor(() => expect(reacts(socket)).toHaveLength(MAX_REACTION_SENDS + 3));
    expect(room.messages[0]!.reactions?.map((r) => r.emoji)).toEqual(['👍']); // still wanted, still shown
    socket.push({ type: 'reacted', room: 1, seq: 1, emoji: '👍', on: true, changed: true });
    const again = await reconnect(socket);
    expect(reacts(again)).toEqual([]);
    store.connection.stop();
  });

  it('a reaction on a live socket goes out at once', async () => {
    const { store, ws } = await openRoom();
    store.react(1, store.rooms.get(1)!.messages[0]!, '👀');
    expect(reacts(ws)).toEqual([{ type: 'react', room: 1, seq: 1, emoji: '👀', on: true }]);
    store.connection.stop();
  });
});

describe('ChatStore: send and retry', () => {
  it('a retry sends the refused message again, same body, reply and files, with a fresh client id, in its place', async () => {
    const { store, ws } = await openRoom();
    const room = store.rooms.get(1)!;
    const files = [{ id: 'f1', name: 'a.txt', size: 3, contentType: 'text/plain' }];
    store.setReplyTo(1, room.messages[0]!);
    const first = store.send(1, 'hello', files);
    const second = store.send(1, 'after');
    expect(ws.sent.filter((f) => f.type === 'send')).toEqual([
      { type: 'send', room: 1, clientId: first, body: 'hello', replyTo: 1, attachments: ['f1'] },
      { type: 'send', room: 1, clientId: second, body: 'after' },
    ]);
    ws.push({ type: 'error', code: 'forbidden', message: 'no', ref: first, room: 1 });
    expect(room.pending[0]).toMatchObject({ clientId: first, status: 'failed', error: 'no' });

    store.retry(1, first);
    const retried = room.pending[0]!;
    expect(retried.clientId).not.toBe(first);
    expect(retried).toEqual({ clientId: retried.clientId, body: 'hello', replyTo: room.messages[0], attachments: files, status: 'sending' });
    expect(room.pending[1]!.clientId).toBe(second);
    expect(ws.sent.filter((f) => f.type === 'send').at(-1)).toEqual({ type: 'send', room: 1, clientId: retried.clientId, body: 'hello', replyTo: 1, attachments: ['f1'] });
    store.connection.stop();
  });
});

describe('ChatStore: the conversation list is reconciled', () => {
  it('read again after a reconnect, and once more when a `conversation` frame comes during a read', async () => {
    const { store, ws, api } = await openRoom();
    expect(api.reads()).toBe(0); // seeded by the page
    const ws2 = await reconnect(ws);
    await vi.waitFor(() => expect(api.reads()).toBe(1));

    const release = api.hold();
    ws2.push({ type: 'conversation', room: 1, change: 'updated' });
    await vi.waitFor(() => expect(api.reads()).toBe(2));
    // Told again while that read is on its way (it may have begun before this change): one more read after it.
    ws2.push({ type: 'conversation', room: 1, change: 'updated' });
    ws2.push({ type: 'conversation', room: 1, change: 'updated' });
    release();
    await vi.waitFor(() => expect(api.reads()).toBe(3));
    await new Promise((r) => setTimeout(r, 50));
    expect(api.reads()).toBe(3);
    store.connection.stop();
  });

  it('going to a closed direct conversation opens it again: at once here, and on the server for the other tabs', async () => {
    const api = stubListApi();
    const dm: Conversation = { ...conv, id: 3, kind: 'direct', name: 'dm', lastSeq: 5, hiddenThroughSeq: 5, peer: other, peers: [other] };
    const { store } = await storeOnFakeSocket(dm);
    const room = store.rooms.get(3)!;
    await store.reopen(3);
    expect(room.conv.hiddenThroughSeq).toBeNull();
    expect(api.writes).toEqual(['/api/conversations/3/reopen']);
    await store.reopen(3); // open already: nothing to write
    expect(api.writes).toHaveLength(1);
    store.connection.stop();
  });
});
