// The recent session changes applied from the control plane (bans, role changes, revokes), numbered in
// the order they were applied. An upgrade notes the number before its check; once its socket is
// attached, it asks whether a change touching its session was applied meanwhile: that change's
// closeUser ran before the socket existed, so the socket must be checked again (see Hub.attach).
import type { SessionKey } from './session-checks.ts';

/** What a control event changed: one user's sessions, or one session. */
export interface SessionChange {
  userId: number | null;
  sessionId: string | null;
}

/** Changes kept (a mark older than all of them counts as touched: the answer errs towards a re-check). */
const KEPT = 1_024;

export class SessionChangeLog {
  private last = 0;
  /** The latest changes, oldest first, each with its number. */
  private readonly recent: Array<SessionChange & { n: number }> = [];

  /** The number of the latest change (0 before any). */
  mark(): number {
    return this.last;
  }

  record(change: SessionChange): void {
    this.recent.push({ ...change, n: ++this.last });
    if (this.recent.length > KEPT) this.recent.shift();
  }

  /** Was a change touching `key` applied after `mark` was taken? */
  touchedSince(mark: number, key: SessionKey): boolean {
    if (mark >= this.last) return false;
    if (this.recent[0]!.n > mark + 1) return true; // some changes since the mark are no longer kept
    for (let i = this.recent.length - 1; i >= 0 && this.recent[i]!.n > mark; i--) {
      const { userId, sessionId } = this.recent[i]!;
      if ((userId === null || userId === key.uid) && (sessionId === null || sessionId === key.sid)) return true;
    }
    return false;
  }
}
