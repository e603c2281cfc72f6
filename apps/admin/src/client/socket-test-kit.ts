// Shared scaffolding for the web client's unit specs (chat-client, chat-connection): a scripted
// stand-in for the browser's WebSocket, so the client's logic runs with no server.
import type { ClientFrame, ServerFrame } from '@parley/protocol';

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
