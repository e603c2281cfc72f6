// Is a chat token's session still good? Postgres decides, in one query for many sessions: the user is
// active, their role is still the token's, and no `session_revoked` control event names the session.
// Used at every upgrade (lookups arriving together share one query, so a reconnect storm costs a few
// round trips) and by the hub's periodic re-validation of everyone connected.
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

export class PgSessionChecks implements SessionChecker {
  private waiting: Array<{ key: SessionKey; resolve: (v: SessionVerdict) => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private inFlight = false;

  constructor(private readonly pool: Pool) {}

  check(key: SessionKey): Promise<SessionVerdict> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || !this.waiting.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.waiting.splice(0, CHUNK);
      this.inFlight = true;
      this.query(batch.map((w) => w.key)).then(
        (verdicts) => batch.forEach((w, i) => w.resolve(verdicts[i]!)),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      ).finally(() => {
        this.inFlight = false;
        this.schedule();
      });
    });
  }

  async checkMany(keys: SessionKey[]): Promise<SessionVerdict[]> {
    const out: SessionVerdict[] = [];
    for (let i = 0; i < keys.length; i += CHUNK) out.push(...(await this.query(keys.slice(i, i + CHUNK))));
    return out;
  }

  private async query(keys: SessionKey[]): Promise<SessionVerdict[]> {
    const { rows } = await this.pool.query<{ i: number; status: string | null; role: string | null; revoked: boolean }>({
      name: 'chat-session-checks',
      text: `SELECT k.i, u.status, u.role,
                    EXISTS (SELECT 1 FROM control_events ce WHERE ce.session_id = k.sid AND ce.kind = 'session_revoked') AS revoked
             FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(uid, sid, i)
             LEFT JOIN users u ON u.id = k.uid`,
      values: [keys.map((k) => k.uid), keys.map((k) => k.sid)],
    });
    const verdicts = new Array<SessionVerdict>(keys.length).fill('inactive');
    for (const r of rows) {
      const i = Number(r.i) - 1;
      const key = keys[i]!;
      verdicts[i] = r.status !== 'active' ? 'inactive' : r.revoked ? 'revoked' : r.role !== key.role ? 'role_changed' : 'ok';
    }
    return verdicts;
  }
}
