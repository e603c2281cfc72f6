// The one place that reaches into `ws`'s private `_socket` (the net.Socket under a WebSocket) to cork
// it: frames sent in one tick (acks and messages of a committed batch) then leave in one write instead
// of one syscall each. socket-cork.spec.ts fails if a `ws` upgrade renames or hides that field.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** The net.Socket under a `ws` WebSocket, or null (closed, or a test double without one). */
export function underlyingSocket(ws: WebSocket): Socket | null {
  const socket = (ws as unknown as { _socket?: Socket | null })._socket;
  return socket && typeof socket.cork === 'function' && !socket.destroyed ? socket : null;
}

/** Sockets corked during the current tick; uncorked together by one nextTick at its end. */
const corked: Socket[] = [];

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/**
 * Cork the socket under `ws` until the microtasks of this tick have run (a no-op when it is corked
 * already this tick, or when there is no socket). Returns whether the socket is corked now.
 */
export function corkUntilEndOfTick(ws: WebSocket): boolean {
  const socket = underlyingSocket(ws);
  if (!socket) return false;
  if (socket.writableCorked > 0) return true;
  socket.cork();
  // One nextTick for all sockets corked in this tick, not one closure per socket per broadcast.
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
  return true;
}
