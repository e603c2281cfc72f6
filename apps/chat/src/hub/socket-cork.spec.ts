// Guards the private `ws` detail socket-cork.ts relies on: a real server-side WebSocket exposes its
// net.Socket as `_socket`. If a `ws` upgrade changes that, this fails (instead of corking silently
// stopping and every frame costing a syscall again).
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { corkUntilEndOfTick, underlyingSocket } from './socket-cork.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connectedPair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(() => new Promise<void>((r) => { wss.close(); http.close(() => r()); http.closeAllConnections(); }));
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  cleanups.push(() => client.terminate());
  const [server] = await accepted;
  await once(client, 'open');
  return { server, client };
}

describe('socket corking on ws', () => {
  it('finds the net.Socket under a real ws connection', async () => {
    const { server } = await connectedPair();
    const socket = underlyingSocket(server);
    expect(socket).toBeInstanceOf(Socket);
    expect(typeof socket?.cork).toBe('function');
  });

  it('corks for the rest of the tick, then the frames leave together', async () => {
    const { server, client } = await connectedPair();
    const received: string[] = [];
    client.on('message', (data) => received.push((data as Buffer).toString()));
    expect(corkUntilEndOfTick(server)).toBe(true);
    const socket = underlyingSocket(server)!;
    expect(socket.writableCorked).toBe(1);
    server.send('a');
    expect(corkUntilEndOfTick(server)).toBe(true); // once per tick: not corked twice
    server.send('b');
    expect(socket.writableCorked).toBe(1);
    await new Promise((r) => process.nextTick(r));
    expect(socket.writableCorked).toBe(0);
    await new Promise<void>((r) => { const t = setInterval(() => { if (received.length === 2) { clearInterval(t); r(); } }, 5); });
    expect(received).toEqual(['a', 'b']);
  });

  it('does nothing for a socket-less stand-in', () => {
    expect(corkUntilEndOfTick({} as WebSocket)).toBe(false);
  });
});
