// Corks a connection's socket for the rest of the tick: every frame sent to it in one tick (acks,
// deliveries, presence, typing, errors) then leaves in one write instead of one syscall each. The socket
// is the one the HTTP server's public `upgrade` event hands over (see http/upgrade.ts), which `ws` writes
// its frames to; corking is the public stream API (Writable.cork), not a `ws` internal.
import type { Duplex } from 'node:stream';

/** Sockets corked during the current tick; uncorked together by one nextTick at its end. */
let corked: Duplex[] = [];

function uncorkAll(): void {
  // Taken first, so one socket that throws can neither keep the others corked nor leave a list behind
  // that would stop every later cork from scheduling its uncork.
  const sockets = corked;
  corked = [];
  for (const socket of sockets) {
    try {
      socket.uncork();
    } catch {
      // Its frames are in doubt: end it (the client reconnects and resumes), keep the other sockets going.
      socket.destroy();
    }
  }
}

/**
 * Cork `socket` until the microtasks of this tick have run (a no-op when it is corked already this
 * tick, destroyed, or absent). Returns whether the socket is corked now.
 */
export function corkUntilEndOfTick(socket: Duplex | null): boolean {
  if (!socket || socket.destroyed) return false;
  if (socket.writableCorked > 0) return true;
  socket.cork();
  // One nextTick for all sockets corked in this tick, not one closure per socket per broadcast.
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
  return true;
}
