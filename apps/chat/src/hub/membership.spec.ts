// The hub applying control events to its sockets, with a scripted repository and control store (no
// Postgres, no sockets): membership removals and archive changes (especially joins that race with
// them, which the e2e tests cannot time), mutes, session/status/role closes, read and conversation
// frames, and the periodic re-validation.
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '@parley/protocol';
import type { RoomAccess } from '../messages/message-repository.ts';
import type { Hub } from './hub.ts';
import { scriptedHub } from './hub-test-kit.ts';

const ROOM = 5;
const room = (archived = false): RoomAccess['room'] => ({ id: ROOM, name: 'r', kind: 'private', archived });

function setup() {
  /** What roomAccess answers for the user; a pending promise lets a test hold a join mid-flight. */
  let access: () => Promise<RoomAccess | null> = async () => ({ room: room(), lastSeq: 0, isMember: true, mutedUntil: null });
  const t = scriptedHub({
    roomAccess: (roomId: number, userId: number) => (userId === 0 ? Promise.resolve({ room: room(), lastSeq: 0, isMember: false, mutedUntil: null }) : access()),
    after: async () => [],
    lastSeqs: async () => new Map(),
    edit: async () => ({ version: 1 }),
  });
  hubs.push(t.hub);
  return { ...t, setAccess: (f: () => Promise<RoomAccess | null>) => void (access = f) };
}

const settle = () => new Promise((r) => setTimeout(r, 10));
const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

describe('Hub: control events', () => {
  it('a member_removed event unsubscribes only that user, tells them, and a send after it is refused', async () => {
    const t = setup();
    const removed = t.connect(7);
    const stays = t.connect(8);
    for (const ws of [removed, stays]) ws.receive({ type: 'join', room: ROOM });
    await settle();
    expect(removed.frames.some((f) => f.type === 'joined')).toBe(true);
    await t.control({ kind: 'member_removed', userId: 7, roomId: ROOM });
    expect(removed.frames.slice(-2)).toEqual([{ type: 'left', room: ROOM, reason: 'removed' }, { type: 'conversation', room: ROOM, change: 'removed' }]);
    expect(stays.frames.some((f) => f.type === 'left')).toBe(false);
    removed.receive({ type: 'send', room: ROOM, clientId: 'x1', body: 'hi' });
    await settle();
    expect(removed.frames.at(-1)).toMatchObject({ type: 'error', code: 'not_joined', ref: 'x1' });
    expect(t.published.map((e) => e.k)).not.toContain('member');
  });

  it('a join whose access check was in flight when the removal arrived is refused, not subscribed', async () => {
    const t = setup();
    await t.control({ kind: 'room_updated', roomId: 99 }); // the plane is running
    let release: (a: RoomAccess) => void = () => undefined;
    t.setAccess(() => new Promise((r) => (release = r)));
    const ws = t.connect(7);
    ws.receive({ type: 'join', room: ROOM });
    await settle(); // the join has read "member" (stale) and waits
    await t.control({ kind: 'member_removed', userId: 7, roomId: ROOM });
    release({ room: room(), lastSeq: 0, isMember: true, mutedUntil: null });
    await settle();
    expect(ws.frames.some((f) => f.type === 'joined')).toBe(false);
    expect(ws.frames.at(-1)).toMatchObject({ type: 'error', code: 'not_found', room: ROOM });
    // A later join (the user was re-added meanwhile) is not affected by the old removal.
    t.setAccess(async () => ({ room: room(), lastSeq: 0, isMember: true, mutedUntil: null }));
    ws.receive({ type: 'join', room: ROOM });
    await settle();
    expect(ws.frames.some((f) => f.type === 'joined')).toBe(true);
  });

  it('archive changes reach the room\'s sockets and members\' conversation lists, including a join that read the old state', async () => {
    const t = setup();
    t.members.set(ROOM, [7, 9]);
    const inRoom = t.connect(7);
    const memberElsewhere = t.connect(9);
    inRoom.receive({ type: 'join', room: ROOM });
    await settle();
    await t.control({ kind: 'room_archived', roomId: ROOM, payload: { archived: true } });
    expect(inRoom.frames).toContainEqual({ type: 'archived', room: ROOM, archived: true });
    expect(memberElsewhere.frames).toContainEqual({ type: 'conversation', room: ROOM, change: 'updated' });
    // Archived: edits are refused (issue 8 point 5).
    inRoom.receive({ type: 'edit', room: ROOM, seq: 1, body: 'changed' });
    await settle();
    expect(inRoom.frames.at(-1)).toMatchObject({ type: 'error', code: 'archived' });

    let release: (a: RoomAccess) => void = () => undefined;
    t.setAccess(() => new Promise((r) => (release = r)));
    const joining = t.connect(8);
    joining.receive({ type: 'join', room: ROOM });
    await settle();
    await t.control({ kind: 'room_archived', roomId: ROOM, payload: { archived: false } });
    release({ room: room(true), lastSeq: 0, isMember: true, mutedUntil: null }); // read before the unarchive
    await settle();
    const i = joining.frames.findIndex((f) => f.type === 'joined');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(joining.frames.slice(i + 1)).toContainEqual({ type: 'archived', room: ROOM, archived: false });
    expect(inRoom.frames).toContainEqual({ type: 'archived', room: ROOM, archived: false });
  });

  it('a mute applies to sends and edits at once, tells the room, and an unmute lifts it', async () => {
    const t = setup();
    const muted = t.connect(7);
    const other = t.connect(8);
    for (const ws of [muted, other]) ws.receive({ type: 'join', room: ROOM });
    await settle();
    const until = new Date(Date.now() + 60_000).toISOString();
    await t.control({ kind: 'mute', userId: 7, roomId: ROOM, payload: { until } });
    expect(other.frames.at(-1)).toEqual({ type: 'moderation', room: ROOM, action: 'muted', userId: 7, until });
    muted.receive({ type: 'send', room: ROOM, clientId: 'm1', body: 'hi' });
    muted.receive({ type: 'edit', room: ROOM, seq: 1, body: 'hi' });
    await settle();
    expect(muted.frames.filter((f) => f.type === 'error').map((f) => f.type === 'error' && f.code)).toEqual(['muted', 'muted']);
    await t.control({ kind: 'mute', userId: 7, roomId: ROOM, payload: { until: null } });
    expect(muted.frames.at(-1)).toMatchObject({ type: 'moderation', action: 'unmuted', userId: 7 });
    muted.receive({ type: 'edit', room: ROOM, seq: 1, body: 'hi' });
    await settle();
    expect(muted.frames.at(-1)).toMatchObject({ type: 'moderation' }); // no error this time
  });

  it('status, session and role events close exactly the sockets they concern, with the right code', async () => {
    const t = setup();
    const banned = [t.connect(7), t.connect(7, { sid: 'other' })];
    const bystander = t.connect(8);
    const revoked = t.connect(9, { sid: 'gone' });
    const keeps = t.connect(9, { sid: 'kept' });
    const promoted = t.connect(10, { role: 'user' });
    await t.control({ kind: 'user_status', userId: 7, payload: { status: 'banned' } });
    await t.control({ kind: 'session_revoked', userId: 9, sessionId: 'gone', payload: { reason: 'logged out' } });
    await t.control({ kind: 'user_role', userId: 10, payload: { role: 'moderator' } });
    for (const ws of banned) expect(ws.closedWith).toEqual({ code: CloseCode.SessionRevoked, reason: 'account banned' });
    expect(revoked.closedWith).toEqual({ code: CloseCode.SessionRevoked, reason: 'logged out' });
    expect(promoted.closedWith?.code).toBe(CloseCode.TokenInvalid);
    expect(bystander.closedWith).toBeNull();
    expect(keeps.closedWith).toBeNull();
    expect(t.hub.connections.size).toBe(2);
  });

  it('read, member_added and conversation_hidden events reach every socket of that user only', async () => {
    const t = setup();
    const tabs = [t.connect(7), t.connect(7)];
    const other = t.connect(8);
    await t.control({ kind: 'read', userId: 7, roomId: ROOM, seq: 12 });
    await t.control({ kind: 'member_added', userId: 7, roomId: 6 });
    // A DM closed (then reopened) in one tab: every tab of the user re-reads the list.
    await t.control({ kind: 'conversation_hidden', userId: 7, roomId: 9, payload: { hidden: true } });
    await t.control({ kind: 'conversation_hidden', userId: 7, roomId: 9, payload: { hidden: false } });
    for (const ws of tabs) {
      expect(ws.frames.slice(-4)).toEqual([
        { type: 'read', room: ROOM, seq: 12 }, { type: 'conversation', room: 6, change: 'added' },
        { type: 'conversation', room: 9, change: 'updated' }, { type: 'conversation', room: 9, change: 'updated' },
      ]);
    }
    expect(other.frames.map((f) => f.type)).toEqual(['hello']);
  });

  it('re-validation closes sockets whose session Postgres no longer accepts', async () => {
    const t = setup();
    const ok = t.connect(7);
    const inactive = t.connect(8);
    const roleChanged = t.connect(9);
    t.setVerdict((k) => (k.uid === 8 ? 'inactive' : k.uid === 9 ? 'role_changed' : 'ok'));
    await t.hub.revalidate();
    expect(ok.closedWith).toBeNull();
    expect(inactive.closedWith?.code).toBe(CloseCode.SessionRevoked);
    expect(roleChanged.closedWith?.code).toBe(CloseCode.TokenInvalid);
  });
});
