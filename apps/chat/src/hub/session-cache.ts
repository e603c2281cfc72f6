// Upgrade-time session checks with a cache of good sessions, kept true by the durable control plane: a
// ban, role change or revoke forgets the sessions it touches when this replica applies it, and a cached
// answer is used only after a control-plane run that began after the upgrade arrived (so every event
// committed before it has been applied, as a Postgres check would have seen it). Re-validation of
// connected sockets (Hub.revalidate) never uses the cache: it is the backstop that depends on no memory.
import type { SessionChecker, SessionKey, SessionVerdict } from './session-checks.ts';

/** What a control event changed: one user's sessions, or one session. */
export interface SessionChange {
  userId: number | null;
  sessionId: string | null;
}

export interface SessionCacheOptions {
  /** How long a good answer is reused (default 60 s). */
  ttlMs?: number;
  /** Most sessions remembered (default 50,000; the oldest go first). */
  maxEntries?: number;
}

export class CachedSessionChecks implements SessionChecker {
  /** `uid|sid|role` of sessions found good, and when that answer expires. Insertion order = age. */
  private readonly good = new Map<string, number>();
  /** Bumped by every forget: an answer from a query that overlapped one is not cached. */
  private epoch = 0;
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
    const k = cacheKey(key);
    const until = this.good.get(k);
    if (until !== undefined && until > Date.now()) {
      // Still there after the plane read everything up to now: no event touched the session. If the plane
      // cannot read events, Postgres decides (as without a cache).
      if ((await this.controlCaughtUp()) && this.good.has(k)) {
        this.stats.sessionCacheHits++;
        return 'ok';
      }
    }
    this.stats.sessionCacheMisses++;
    const epoch = this.epoch;
    const verdict = await this.checks.check(key);
    // An event applied while the query ran may postdate its snapshot: ask again (and cache nothing).
    if (verdict === 'ok' && epoch !== this.epoch) return this.checks.check(key);
    if (verdict === 'ok') this.remember(k);
    else this.good.delete(k);
    return verdict;
  }

  checkMany(keys: SessionKey[]): Promise<SessionVerdict[]> {
    return this.checks.checkMany(keys);
  }

  /** A control event changed these sessions (called as it is applied, before sockets are closed). */
  forget(change: SessionChange): void {
    this.epoch++;
    const userPrefix = change.userId !== null ? `${change.userId}|` : null;
    for (const k of this.good.keys()) {
      if ((userPrefix !== null && k.startsWith(userPrefix)) || (change.sessionId !== null && sessionOf(k) === change.sessionId)) this.good.delete(k);
    }
  }

  private remember(k: string): void {
    this.good.delete(k); // re-inserted as the newest
    this.good.set(k, Date.now() + this.ttlMs);
    if (this.good.size > this.maxEntries) this.good.delete(this.good.keys().next().value!);
  }
}

/** `uid|role|sid`: the session id last, as it may contain anything (roles and uids do not hold `|`). */
function cacheKey(key: SessionKey): string {
  return `${key.uid}|${key.role}|${key.sid}`;
}

function sessionOf(k: string): string {
  return k.slice(k.indexOf('|', k.indexOf('|') + 1) + 1);
}
