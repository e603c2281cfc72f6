// ChatConnection on a parley.v2 socket (scripted): it offers v2 first, and hands the handlers the same
// ChatMessage objects as on v1, author profiles from the `users` frames the server sent.
import { describe, expect, it, vi } from 'vitest';
import { type ChatMessage, type ServerFrame, type ServerFrameV2, SUBPROTOCOL, SUBPROTOCOL_V2, toV2, usersOfFrame } from '@parley/protocol';
import { ChatConnection } from './chat-connection.ts';
import { FakeSocket, me, other } from './socket-test-kit.ts';

/** A fake socket whose server picked parley.v2. */
class FakeSocketV2 extends FakeSocket {
  readonly protocol = SUBPROTOCOL_V2;
  pushV2(frame: ServerFrameV2): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** A version 1 frame as a v2 server sends it: the profiles it names first. */
  pushAsV2(frame: ServerFrame): void {
    const users = usersOfFrame(frame);
    if (users.length) this.pushV2({ type: 'users', users });
    this.pushV2(toV2(frame));
  }
}

const msg = (seq: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: 100 + seq, roomId: 1, seq, author: other, clientId: `c${seq}`, body: `m${seq}`, createdAt: new Date(1_000 * seq).toISOString(), editedAt: null, deletedAt: null, ...extra,
});

describe('ChatConnection on parley.v2', () => {
  it('offers parley.v2 before parley.v1 and rebuilds messages, acks and history as version 1 objects', async () => {
    FakeSocket.instances = [];
    const got: ChatMessage[] = [];
    const history: ChatMessage[][] = [];
    const acks: Array<[string, number]> = [];
    const conn = new ChatConnection('ws://x/socket', { state: () => undefined }, { WebSocketImpl: FakeSocketV2 as unknown as typeof WebSocket, fetchToken: async () => 'tok', random: () => 0.5 });
    conn.watch(1, { message: (m) => got.push(m), history: (messages) => history.push(messages), ack: (clientId, seq) => acks.push([clientId, seq]) });
    conn.start();
    await vi.waitFor(() => expect(FakeSocket.instances.length).toBe(1));
    const ws = FakeSocket.instances[0] as FakeSocketV2;
    expect(ws.protocols.slice(0, 2)).toEqual([SUBPROTOCOL_V2, SUBPROTOCOL]);
    ws.readyState = 1;
    ws.pushAsV2({ type: 'hello', protocol: 1, connectionId: 'c', replica: 'r', user: me, heartbeatMs: 25_000 });
    ws.pushAsV2({ type: 'joined', room: { id: 1, name: 'r1', kind: 'public', archived: false }, lastSeq: 0, resumedFrom: 0 });
    const edited = msg(2, { author: me, editedAt: new Date(5_000).toISOString(), version: 9, replyTo: { seq: 1, author: other, excerpt: 'm1', deleted: false } });
    ws.pushAsV2({ type: 'message', room: 1, message: msg(1) });
    ws.pushAsV2({ type: 'message', room: 1, message: edited });
    ws.pushAsV2({ type: 'caught_up', room: 1, seq: 2 });
    expect(got).toEqual([msg(1), edited]);
    conn.send(1, 'hi', 'cid-1');
    ws.pushAsV2({ type: 'ack', room: 1, clientId: 'cid-1', seq: 3, id: 103, createdAt: new Date(3_000).toISOString(), duplicate: false });
    expect(acks).toEqual([['cid-1', 3]]);
    ws.pushAsV2({ type: 'history', room: 1, messages: [msg(1)], hasMore: false, beforeSeq: 2 });
    expect(history).toEqual([[msg(1)]]);
    conn.stop();
  });
});
