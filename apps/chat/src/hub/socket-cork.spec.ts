// Corking goes through the socket the HTTP server's `upgrade` event hands over (public API): this
// checks that `ws` writes its frames to that very socket, so corking it holds every frame of a tick and
// they leave together when the tick ends.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { corkUntilEndOfTick } from './socket-cork.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server-side WebSocket with the socket its upgrade event handed over, and a client. */
async function connectedPair(): Promise<{ server: WebSocket; socket: Duplex; client: WebSocket }> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const accepted = new Promise<{ server: WebSocket; socket: Duplex }>((resolve) => {
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (server) => resolve({ server, socket })));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(() => new Promise<void>((r) => { wss.close(); http.close(() => r()); http.closeAllConnections(); }));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  cleanups.push(() => client.terminate());
  const { server, socket } = await accepted;
  await once(client, 'open');
  return { server, socket, client };
}

describe('socket corking', () => {
  it('holds the frames ws sends on the upgrade socket until the end of the tick, then they leave together', async () => {
    const { server, socket, client } = await connectedPair();
    const received: string[] = [];
    client.on('message', (data) => received.push((data as Buffer).toString()));
    expect(corkUntilEndOfTick(socket)).toBe(true);
    expect(socket.writableCorked).toBe(1);
    server.send('a');
    expect(corkUntilEndOfTick(socket)).toBe(true); // once per tick: not corked twice
    server.send('b');
    expect(socket.writableCorked).toBe(1);
    // Both frames wait in this socket's buffer: ws wrote them to it, and nothing reached the kernel.
    expect(socket.writableLength).toBeGreaterThan(0);
    await new Promise((r) => process.nextTick(r));
    expect(socket.writableCorked).toBe(0);
    await new Promise<void>((r) => { const t = setInterval(() => { if (received.length === 2) { clearInterval(t); r(); } }, 5); });
    expect(received).toEqual(['a', 'b']);
  });

  it('uncorks the other sockets when one throws, ends that one, and later corks are still uncorked', async () => {
    const broken = new PassThrough();
    broken.uncork = () => {
      throw new Error('uncork failed');
    };
    const fine = new PassThrough();
    expect(corkUntilEndOfTick(broken)).toBe(true);
    expect(corkUntilEndOfTick(fine)).toBe(true);
    await new Promise((r) => process.nextTick(r));
    expect(fine.writableCorked).toBe(0);
    expect(broken.destroyed).toBe(true);
    const later = new PassThrough();
    expect(corkUntilEndOfTick(later)).toBe(true);
    expect(later.writableCorked).toBe(1);
    await new Promise((r) => process.nextTick(r));
    expect(later.writableCorked).toBe(0);
  });

  it('does nothing without a socket, or with a destroyed one', async () => {
    expect(corkUntilEndOfTick(null)).toBe(false);
    const { socket } = await connectedPair();
    socket.destroy();
    expect(corkUntilEndOfTick(socket)).toBe(false);
  });
});
