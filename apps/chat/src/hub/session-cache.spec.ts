// Upgrade checks with a cache of good sessions: a repeat costs no Postgres check, and a ban, role change
// or revoke (applied from the durable control plane) makes the next upgrade ask Postgres again, also when
// it is committed but not yet applied, or applied after the check but before the socket is attached.
import { describe, expect, it } from 'vitest';
import { CloseCode } from '@parley/protocol';
import { scriptedHub } from './hub-test-kit.ts';
import { CachedSessionChecks } from './session-cache.ts';
import type { SessionChecker, SessionKey, SessionVerdict } from './session-checks.ts';

const key = (uid: number, sid = `s${uid}`, role = 'user'): SessionKey => ({ uid, sid, role });

function counting(verdict: (k: SessionKey) => SessionVerdict = () => 'ok') {
  const asked: SessionKey[] = [];
  const checker: SessionChecker = {
    check: async (k) => (asked.push(k), verdict(k)),
    checkMany: async (keys) => keys.map((k) => verdict(k)),
  };
  return { checker, asked };
}

/** A hub caught up with its control plane, whose Postgres answers every check with what `postgresSays` set last ('ok' at first). */
async function caughtUpHub() {
  const t = scriptedHub({});
  await t.hub.control.caughtUp();
  let verdict: SessionVerdict = 'ok';
  t.setVerdict(() => verdict);
  return { t, postgresSays: (v: SessionVerdict) => void (verdict = v) };
}

describe('CachedSessionChecks', () => {
  it('answers a repeat from the cache once the control plane has caught up, and never caches a bad verdict', async () => {
    const { checker, asked } = counting((k) => (k.uid === 2 ? 'inactive' : 'ok'));
    let runs = 0;
    const cache = new CachedSessionChecks(checker, async () => (runs++, true));
    expect(await cache.check(key(1))).toBe('ok');
    expect(await cache.check(key(1))).toBe('ok');
    expect(await cache.check(key(1, 's1', 'admin'))).toBe('ok'); // another role is another entry
    expect(asked).toHaveLength(2);
    expect(runs).toBe(1); // only the hit waited for the control plane
    expect(await cache.check(key(2))).toBe('inactive');
    expect(await cache.check(key(2))).toBe('inactive');
    expect(asked).toHaveLength(4);
    expect(cache.stats).toEqual({ sessionCacheHits: 1, sessionCacheMisses: 4 });
  });

  it('asks Postgres when the control plane cannot read events, after the time to live, and past its size', async () => {
    const { checker, asked } = counting();
    let planeOk = true;
    const cache = new CachedSessionChecks(checker, async () => planeOk, { ttlMs: 0 });
    await cache.check(key(1));
    await cache.check(key(1)); // expired at once
    expect(asked).toHaveLength(2);
    const cache2 = new CachedSessionChecks(checker, async () => planeOk);
    await cache2.check(key(1));
    planeOk = false;
    await cache2.check(key(1));
    expect(asked).toHaveLength(4);
    // Bounded: past maxEntries, everything is forgotten at once.
    planeOk = true;
    const small = new CachedSessionChecks(checker, async () => planeOk, { maxEntries: 2 });
    for (const uid of [1, 2, 3, 1]) await small.check(key(uid));
    expect(asked).toHaveLength(8);
  });

  it('forgets a user or a session, and caches nothing from a check that overlapped a forget', async () => {
    let verdict: SessionVerdict = 'ok';
    const { checker, asked } = counting(() => verdict);
    const cache = new CachedSessionChecks(checker, async () => true);
    await cache.check(key(1, 'a'));
    await cache.check(key(1, 'b'));
    await cache.check(key(2, 'c|d'));
    await cache.check(key(4, 'e'));
    await cache.check(key(4, 'f'));
    cache.forget({ userId: 1, sessionId: null });
    cache.forget({ userId: null, sessionId: 'c|d' });
    cache.forget({ userId: 4, sessionId: 'e' });
    verdict = 'revoked';
    expect(await cache.check(key(1, 'a'))).toBe('revoked');
    expect(await cache.check(key(1, 'b'))).toBe('revoked');
    expect(await cache.check(key(2, 'c|d'))).toBe('revoked');
    expect(await cache.check(key(4, 'e'))).toBe('revoked');
    verdict = 'ok';
    expect(await cache.check(key(4, 'f'))).toBe('ok'); // the user's other session is still remembered
    expect(asked).toHaveLength(9);

    // A forget while the query runs: its snapshot may predate the event, so it is asked again.
    verdict = 'ok';
    let release!: () => void;
    const slow: SessionChecker = {
      check: async (k) => {
        asked.push(k);
        if (asked.length === 10) await new Promise<void>((r) => (release = r));
        return verdict;
      },
      checkMany: async () => [],
    };
    const racing = new CachedSessionChecks(slow, async () => true);
    const pending = racing.check(key(3));
    await new Promise((r) => setImmediate(r));
    racing.forget({ userId: 3, sessionId: null });
    verdict = 'inactive';
    release();
    expect(await pending).toBe('inactive');
  });

  it('on a hub: a ban, a role change and a revoke applied from the control plane reach the upgrade cache', async () => {
    const { t } = await caughtUpHub();
    let asked = 0;
    const verdicts = new Map<number, SessionVerdict>();
    t.setVerdict((k) => (asked++, verdicts.get(k.uid) ?? 'ok'));
    for (const uid of [1, 2, 3]) expect(await t.hub.upgradeSessions.check(key(uid))).toBe('ok');
    for (const uid of [1, 2, 3]) expect(await t.hub.upgradeSessions.check(key(uid))).toBe('ok');
    expect(asked).toBe(3);
    verdicts.set(1, 'inactive').set(2, 'role_changed').set(3, 'revoked');
    await t.control({ kind: 'user_status', userId: 1, payload: { status: 'banned' } });
    await t.control({ kind: 'user_role', userId: 2, payload: { role: 'admin' } });
    await t.control({ kind: 'session_revoked', userId: 3, sessionId: 's3', payload: {} });
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('inactive');
    expect(await t.hub.upgradeSessions.check(key(2))).toBe('role_changed');
    expect(await t.hub.upgradeSessions.check(key(3))).toBe('revoked');
    expect(asked).toBe(6);
    t.hub.stop();
  });

  // The race the cache must not lose: Postgres already holds the ban, this replica has not applied it.
  it('on a hub: a ban committed but not yet applied when a cached session is checked again is seen', async () => {
    const { t, postgresSays } = await caughtUpHub();
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('ok');
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('ok'); // a hit: the answer is cached
    t.commit({ kind: 'user_status', userId: 1, payload: { status: 'banned' } });
    postgresSays('inactive');
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('inactive');
    expect(t.hub.upgradeSessions.stats).toEqual({ sessionCacheHits: 1, sessionCacheMisses: 2 });
    t.hub.stop();
  });

  it('on a hub: a check made while a control-plane run is in progress waits for a run that began after it', async () => {
    const { t, postgresSays } = await caughtUpHub();
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('ok');
    const release = t.holdControlReads();
    t.hub.control.poke(); // a run begins: its read predates the ban below
    t.commit({ kind: 'user_status', userId: 1, payload: { status: 'banned' } });
    postgresSays('inactive');
    const pending = t.hub.upgradeSessions.check(key(1));
    release();
    expect(await pending).toBe('inactive');
    t.hub.stop();
  });

  it('on a hub: a ban applied between an upgrade\'s check and its attach closes the new socket (and only that user\'s)', async () => {
    const { t, postgresSays } = await caughtUpHub();
    const began = t.hub.sessionCheckMark();
    expect(await t.hub.upgradeSessions.check(key(1))).toBe('ok');
    expect(await t.hub.upgradeSessions.check(key(2))).toBe('ok');
    postgresSays('inactive'); // from here on Postgres says no to everyone: only a socket checked again is closed
    await t.control({ kind: 'user_status', userId: 1, payload: { status: 'banned' } }); // no socket of user 1 yet
    const banned = t.connect(1, {}, began);
    const other = t.connect(2, {}, began);
    const later = t.connect(1, {}, t.hub.sessionCheckMark()); // checked after the ban: nothing to catch up on
    await new Promise((r) => setImmediate(r));
    expect(banned.closedWith).toEqual({ code: CloseCode.SessionRevoked, reason: 'account not active' });
    expect(other.closedWith).toBeNull();
    expect(later.closedWith).toBeNull();
    t.hub.stop();
  });

  it('on a hub: a socket whose session changed during its upgrade is closed when Postgres cannot be asked', async () => {
    const { t } = await caughtUpHub();
    const began = t.hub.sessionCheckMark();
    await t.control({ kind: 'session_revoked', userId: null, sessionId: 's1', payload: {} });
    t.setVerdict(() => {
      throw new Error('connection refused');
    });
    const ws = t.connect(1, {}, began);
    await new Promise((r) => setImmediate(r));
    expect(ws.closedWith).toEqual({ code: CloseCode.TryAgainLater, reason: 'session check failed; reconnect' });
    t.hub.stop();
  });
});
