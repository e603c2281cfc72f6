// The hub's handling of room membership removals and archive changes, with a scripted repository and
// bus (no Postgres, no sockets): especially joins that race with them, which the e2e tests cannot time.
import { afterEach, describe, expect, it } from 'vitest';
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
  });
  return { ...t, setAccess: (f: () => Promise<RoomAccess | null>) => void (access = f) };
}

const settle = () => new Promise((r) => setTimeout(r, 10));
const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

describe('Hub: live membership and archive changes', () => {
  it('a removal from another replica unsubscribes only that user, tells them, and is not re-published', async () => {
    const t = setup();
    hubs.push(t.hub);
    const removed = t.connect(7);
    const stays = t.connect(8);
    for (const ws of [removed, stays]) ws.receive({ type: 'join', room: ROOM });
    await settle();
    expect(removed.frames.some((f) => f.type === 'joined')).toBe(true);
    t.fromPeer({ k: 'member', room: ROOM, userId: 7, action: 'removed', from: 'r2' });
    expect(removed.frames.at(-1)).toEqual({ type: 'left', room: ROOM, reason: 'removed' });
    expect(stays.frames.some((f) => f.type === 'left')).toBe(false);
    // No longer joined: a send is refused.
    removed.receive({ type: 'send', room: ROOM, clientId: 'x1', body: 'hi' });
    await settle();
    expect(removed.frames.at(-1)).toMatchObject({ type: 'error', code: 'not_joined', ref: 'x1' });
    expect(t.published.filter((e) => e.k === 'member')).toEqual([]);
  });

  it('a join whose access check was in flight when the removal arrived is refused, not subscribed', async () => {
    const t = setup();
    hubs.push(t.hub);
    let release: (a: RoomAccess) => void = () => undefined;
    t.setAccess(() => new Promise((r) => (release = r)));
    const ws = t.connect(7);
    ws.receive({ type: 'join', room: ROOM });
    await settle(); // the join has read "member" (stale) and waits
    t.fromPeer({ k: 'member', room: ROOM, userId: 7, action: 'removed', from: 'r2' });
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

  it('the removal entry point checks Postgres: someone who still has access keeps the room', async () => {
    const t = setup();
    hubs.push(t.hub);
    const ws = t.connect(7);
    ws.receive({ type: 'join', room: ROOM });
    await settle();
    expect(await t.hub.removeMember(ROOM, 7)).toBe(false); // still a member
    expect(ws.frames.some((f) => f.type === 'left')).toBe(false);
    t.setAccess(async () => ({ room: room(), lastSeq: 0, isMember: false, mutedUntil: null }));
    expect(await t.hub.removeMember(ROOM, 7)).toBe(true);
    expect(ws.frames.at(-1)).toEqual({ type: 'left', room: ROOM, reason: 'removed' });
    expect(t.published).toContainEqual({ k: 'member', room: ROOM, userId: 7, action: 'removed', from: 'r1' });
  });

  it('archive changes reach the room\'s sockets, including a join that read the old state', async () => {
    const t = setup();
    hubs.push(t.hub);
    const inRoom = t.connect(7);
    inRoom.receive({ type: 'join', room: ROOM });
    await settle();
    await t.hub.roomArchived(ROOM, true);
    expect(inRoom.frames.at(-1)).toEqual({ type: 'archived', room: ROOM, archived: true });
    expect(t.published).toContainEqual({ k: 'archived', room: ROOM, archived: true, from: 'r1' });

    let release: (a: RoomAccess) => void = () => undefined;
    t.setAccess(() => new Promise((r) => (release = r)));
    const joining = t.connect(8);
    joining.receive({ type: 'join', room: ROOM });
    await settle();
    t.fromPeer({ k: 'archived', room: ROOM, archived: false, from: 'r2' });
    release({ room: room(true), lastSeq: 0, isMember: true, mutedUntil: null }); // read before the unarchive
    await settle();
    const i = joining.frames.findIndex((f) => f.type === 'joined');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(joining.frames.slice(i + 1)).toContainEqual({ type: 'archived', room: ROOM, archived: false });
    expect(inRoom.frames).toContainEqual({ type: 'archived', room: ROOM, archived: false });
  });
});
