// Is a chat token's session still good? Postgres decides, in one query for many sessions: the user is
// active, their role is still the token's, and no `session_revoked` control event names the session.
// Used at every upgrade (lookups arriving together share one query, and the same session asked twice in
// it is one row, so a reconnect storm costs a few round trips; session-cache.ts answers repeats) and by
// the hub's periodic re-validation of everyone connected. Only sessions that are not good come back as
// rows: the usual answer, all good, costs no row parsing here.
import type { Pool } from '@parley/db';

export type SessionVerdict = 'ok' | 'inactive' | 'revoked' | 'role_changed';

export interface SessionKey {
  uid: number;
  sid: string;
  role: string;
}

export interface SessionChecker {
  check(key: SessionKey): Promise<SessionVerdict>;
  checkMany(keys: SessionKey[]): Promise<SessionVerdict[]>;
}

/** Sessions per query. */
const CHUNK = 1_000;
/**
 * Upgrade checks start at most one query per this period: a lone upgrade is checked at once, but in a
 * reconnect storm lookups gather for a few ms, so chat and Postgres run one query for many sockets
 * (issue 13: at ≈1,400 upgrades/s, one query per round trip held only ≈4.6 sessions).
 */
export const CHECK_INTERVAL_MS = 5;

export class PgSessionChecks implements SessionChecker {
  private waiting: Array<{ key: SessionKey; resolve: (v: SessionVerdict) => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private inFlight = false;
  private lastQueryAt = -Infinity;

  constructor(private readonly pool: Pool, private readonly intervalMs = CHECK_INTERVAL_MS) {}

  check(key: SessionKey): Promise<SessionVerdict> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || !this.waiting.length) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      this.lastQueryAt = performance.now();
      const batch = this.waiting.splice(0, CHUNK);
      this.inFlight = true;
      // The same session asked several times (tabs of one browser, a reconnect storm) is one row.
      const unique = new Map<string, number>();
      const keys: SessionKey[] = [];
      const slot = batch.map(({ key }) => {
        const k = `${key.uid}|${key.role}|${key.sid}`;
        let i = unique.get(k);
        if (i === undefined) unique.set(k, (i = keys.push(key) - 1));
        return i;
      });
      this.query(keys).then(
        (verdicts) => batch.forEach((w, i) => w.resolve(verdicts[slot[i]!]!)),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      ).finally(() => {
        this.inFlight = false;
        this.schedule();
      });
    };
    const wait = this.lastQueryAt + this.intervalMs - performance.now();
    if (wait > 0) setTimeout(flush, wait);
    else setImmediate(flush);
  }

  async checkMany(keys: SessionKey[]): Promise<SessionVerdict[]> {
    const out: SessionVerdict[] = [];
    for (let i = 0; i < keys.length; i += CHUNK) out.push(...(await this.query(keys.slice(i, i + CHUNK))));
    return out;
  }

  private async query(keys: SessionKey[]): Promise<SessionVerdict[]> {
    // Rows only for sessions that are not good (unknown user, inactive, revoked, another role).
    const { rows } = await this.pool.query<{ i: number; status: string | null; revoked: boolean }>({
      name: 'chat-session-checks-bad',
      text: `SELECT k.i, u.status,
                    EXISTS (SELECT 1 FROM control_events ce WHERE ce.session_id = k.sid AND ce.kind = 'session_revoked') AS revoked
             FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS k(uid, sid, role, i)
             LEFT JOIN users u ON u.id = k.uid
             WHERE u.status IS DISTINCT FROM 'active'
                OR u.role IS DISTINCT FROM k.role
                OR EXISTS (SELECT 1 FROM control_events ce WHERE ce.session_id = k.sid AND ce.kind = 'session_revoked')`,
      values: [keys.map((k) => k.uid), keys.map((k) => k.sid), keys.map((k) => k.role)],
    });
    const verdicts = new Array<SessionVerdict>(keys.length).fill('ok');
    for (const r of rows) {
      // Same precedence as ever: inactive, then revoked, then a changed role.
      verdicts[Number(r.i) - 1] = r.status !== 'active' ? 'inactive' : r.revoked ? 'revoked' : 'role_changed';
    }
    return verdicts;
  }
}
