// Upgrade-time session checks with a cache of good sessions, kept true by the durable control plane: a
// ban, role change or revoke forgets the sessions it touches when this replica applies it, and a cached
// answer is used only after a control-plane run that began after the upgrade arrived (so every event
// committed before it has been applied, as a Postgres check would have seen it). Events applied after the
// answer and before the socket is attached are caught by Hub.attach (session-changes.ts). Re-validation of
// connected sockets (Hub.revalidate) never uses the cache: it is the backstop that depends on no memory.
import { type SessionChange, SessionChangeLog } from './session-changes.ts';
import type { SessionChecker, SessionKey, SessionVerdict } from './session-checks.ts';

export interface SessionCacheOptions {
  /** How long a good answer is reused (default 60 s). */
  ttlMs?: number;
  /** Most sessions remembered (default 50,000; past it, all are forgotten at once). */
  maxEntries?: number;
}

export class CachedSessionChecks implements SessionChecker {
  /** Sessions found good, by user: `role|sid` -> when that answer expires. */
  private readonly good = new Map<number, Map<string, number>>();
  private entries = 0;
  /** Every forget, numbered: an answer from a query that overlapped one is not cached. */
  readonly changes = new SessionChangeLog();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  readonly stats = { sessionCacheHits: 0, sessionCacheMisses: 0 };

  constructor(
    private readonly checks: SessionChecker,
    /** Resolves after a control-plane run that began after the call: true if it read every event (ControlPlane.caughtUpSinceNow). */
    private readonly controlCaughtUp: () => Promise<boolean>,
    options: SessionCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  async check(key: SessionKey): Promise<SessionVerdict> {
    const k = entryKey(key);
    const until = this.good.get(key.uid)?.get(k);
    // Still there after the plane read everything up to now: no event touched the session. If the plane
    // cannot read events, Postgres decides (as without a cache).
    if (until !== undefined && until > Date.now() && (await this.controlCaughtUp()) && this.good.get(key.uid)?.has(k)) {
      this.stats.sessionCacheHits++;
      return 'ok';
    }
    this.stats.sessionCacheMisses++;
    const mark = this.changes.mark();
    const verdict = await this.checks.check(key);
    // An event applied while the query ran may postdate its snapshot: ask again (and cache nothing).
    // Events applied after this answer and before the socket is attached are Hub.attach's to catch.
    if (verdict === 'ok' && mark !== this.changes.mark()) return this.checks.check(key);
    if (verdict === 'ok') this.remember(key.uid, k);
    else this.drop(key.uid, (entry) => entry === k);
    return verdict;
  }

  checkMany(keys: SessionKey[]): Promise<SessionVerdict[]> {
    return this.checks.checkMany(keys);
  }

  /**
   * A control event changed these sessions (called as it is applied, before sockets are closed): all of
   * a user's, or one session (of one user when the event names them, else of anyone).
   */
  forget(change: SessionChange): void {
    this.changes.record(change);
    const { userId, sessionId } = change;
    const which = sessionId === null ? () => true : (entry: string) => entry.slice(entry.indexOf('|') + 1) === sessionId;
    if (userId !== null) this.drop(userId, which);
    else for (const uid of [...this.good.keys()]) this.drop(uid, which);
  }

  private remember(uid: number, k: string): void {
    // Bounded: past the limit everything is forgotten at once (the cache only saves queries).
    if (this.entries >= this.maxEntries) {
      this.good.clear();
      this.entries = 0;
    }
    let mine = this.good.get(uid);
    if (!mine) this.good.set(uid, (mine = new Map<string, number>()));
    if (!mine.has(k)) this.entries++;
    mine.set(k, Date.now() + this.ttlMs);
  }

  private drop(uid: number, which: (entry: string) => boolean): void {
    const mine = this.good.get(uid);
    if (!mine) return;
    for (const entry of [...mine.keys()]) {
      if (which(entry)) {
        mine.delete(entry);
        this.entries--;
      }
    }
    if (!mine.size) this.good.delete(uid);
  }
}

/** `role|sid`: the session id last, as it may contain anything (roles do not hold `|`). */
function entryKey(key: SessionKey): string {
  return `${key.role}|${key.sid}`;
}
