// Shared scaffolding for the web client's unit specs (chat-client, chat-connection, store-window): a scripted
// stand-in for the browser's WebSocket, so the client's logic runs with no server.
import { expect, vi } from 'vitest';
import type { ClientFrame, ServerFrame } from '@parley/protocol';
import { ChatStore, type Conversation } from './store.ts';

export class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: ClientFrame[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string, readonly protocols: string[]) {
    FakeSocket.instances.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
  }
  push(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export const me = { id: 7, handle: 'me', displayName: 'Me' };
export const other = { id: 8, handle: 'other', displayName: 'Other' };

/** A ChatStore showing `conv`, started on a FakeSocket that is open and has said hello (as `me`). */
export async function storeOnFakeSocket(conv: Conversation): Promise<{ store: ChatStore; ws: FakeSocket }> {
  FakeSocket.instances = [];
  const store = new ChatStore({ ...me, role: 'user' }, 'ws://x/socket', { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, fetchToken: async () => 'tok', random: () => 0.5 });
  store.seed([{ ...conv }], conv.id, null);
  store.open(conv.id);
  await store.start();
  await vi.waitFor(() => expect(FakeSocket.instances.length).toBe(1));
  const ws = FakeSocket.instances[0]!;
  ws.readyState = 1;
  ws.push({ type: 'hello', protocol: 1, connectionId: 'c', replica: 'r', user: me, heartbeatMs: 25_000 });
  return { store, ws };
}
