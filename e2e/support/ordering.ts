// Ordering instead of stopwatches: a live event must come before a sentinel that the test causes
// after it (through the same path), and a frame that must never come must be absent before a sentinel
// that would have followed it. Load slows both alike, so neither check depends on how busy the machine is.
import type { ServerFrame } from '@parley/protocol';
import type { TestSocket } from './ws-client.ts';

/** How long to wait for a sentinel before failing: a give-up time, not a latency bound. */
export const SENTINEL_WAIT_MS = 20_000;

/** Wait for the sentinel frame on `sock` and return every frame it received before it. */
export async function framesBefore<T extends ServerFrame['type']>(
  sock: TestSocket,
  type: T,
  sentinel: (f: Extract<ServerFrame, { type: T }>) => boolean,
): Promise<ServerFrame[]> {
  const frame = await sock.next(type, sentinel, SENTINEL_WAIT_MS);
  return sock.frames.slice(0, sock.frames.indexOf(frame));
}
