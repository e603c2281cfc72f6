// Which session changes an upgrade has to catch up on: those applied after its mark that touch its user
// or its session, and, once changes since the mark are no longer all kept, any.
import { describe, expect, it } from 'vitest';
import { SessionChangeLog } from './session-changes.ts';

const key = (uid: number, sid = `s${uid}`) => ({ uid, sid, role: 'user' });

describe('SessionChangeLog', () => {
  it('says whether a change after the mark touched the user or the session', () => {
    const log = new SessionChangeLog();
    const start = log.mark();
    expect(log.touchedSince(start, key(1))).toBe(false);
    log.record({ userId: 1, sessionId: null }); // a ban: every session of user 1
    const afterBan = log.mark();
    log.record({ userId: 2, sessionId: 'b' }); // one session of user 2
    log.record({ userId: null, sessionId: 'c' }); // a session, user not named
    expect(log.touchedSince(start, key(1, 'any'))).toBe(true);
    expect(log.touchedSince(afterBan, key(1, 'any'))).toBe(false);
    expect(log.touchedSince(start, key(2, 'b'))).toBe(true);
    expect(log.touchedSince(start, key(2, 'a'))).toBe(false);
    expect(log.touchedSince(start, key(3, 'c'))).toBe(true);
    expect(log.touchedSince(start, key(3, 'd'))).toBe(false);
    expect(log.touchedSince(log.mark(), key(2, 'b'))).toBe(false);
  });

  it('counts a mark older than every change kept as touched', () => {
    const log = new SessionChangeLog();
    log.record({ userId: 1, sessionId: null });
    const old = log.mark();
    for (let i = 0; i < 1_024; i++) log.record({ userId: 2, sessionId: null });
    expect(log.touchedSince(old, key(3))).toBe(false); // every change since `old` is still kept
    log.record({ userId: 2, sessionId: null });
    expect(log.touchedSince(old, key(3))).toBe(true);
    expect(log.touchedSince(log.mark() - 1, key(3))).toBe(false);
  });
});
