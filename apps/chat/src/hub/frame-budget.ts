// The per-user budget over every frame type (in addition to the send rate limit): one token bucket per
// user on this replica, shared by their sockets. A socket that keeps sending after being refused (its
// own bucket of refusals runs dry too) is closed: one user must not keep a replica busy for everyone.
import { TokenBucket } from './token-bucket.ts';

export type FrameVerdict = { ok: true } | { ok: false; retryInMs: number; close: boolean };

export class FrameBudget {
  private readonly users = new Map<number, TokenBucket>();
  private readonly refusals = new WeakMap<object, TokenBucket>();

  constructor(private readonly ratePerSec: number, private readonly burst: number) {}

  /** Charge one frame of `userId` arriving on `socket`. */
  take(userId: number, socket: object, now = Date.now()): FrameVerdict {
    let bucket = this.users.get(userId);
    if (!bucket) this.users.set(userId, (bucket = new TokenBucket(this.ratePerSec, this.burst, now)));
    const retryInMs = bucket.take(now);
    if (retryInMs === 0) return { ok: true };
    let refusals = this.refusals.get(socket);
    if (!refusals) this.refusals.set(socket, (refusals = new TokenBucket(this.ratePerSec, this.burst, now)));
    return { ok: false, retryInMs, close: refusals.take(now) > 0 };
  }

  /** Drop budgets of users no longer connected here. */
  forgetExcept(connectedUsers: Set<number>): void {
    for (const uid of this.users.keys()) if (!connectedUsers.has(uid)) this.users.delete(uid);
  }
}
