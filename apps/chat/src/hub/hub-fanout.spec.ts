// The hub's fan-out to a big room, with a scripted repository and bus (no Postgres, no sockets): the
// sender's ack does not wait for the delivery to every subscriber, delivery is chunked but in order,
// and presence is coalesced and capped instead of the whole list to everyone on every join.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage, ServerFrame } from '@parley/protocol';
import type { RoomAccess, StoreResult } from '../messages/message-repository.ts';
import type { Hub } from './hub.ts';
import { type FakeWs, scriptedHub } from './hub-test-kit.ts';
import { PRESENCE_LIST_MAX, PRESENCE_PUSH_MS } from './presence.ts';
import { DELIVERY_CHUNK } from './room-state.ts';

const ROOM = 9;
const access: RoomAccess = { room: { id: ROOM, name: 'big', kind: 'public', archived: false }, lastSeq: 0, isMember: true, mutedUntil: null };

function setup() {
  let seq = 0;
  const t = scriptedHub({
    roomAccess: async () => access,
    after: async () => [],
    lastSeqs: async () => new Map(),
    store: async (m: { roomId: number; authorId: number; clientId: string; body: string }): Promise<StoreResult> => {
      seq++;
      const message: ChatMessage = { id: seq, roomId: m.roomId, seq, author: { id: m.authorId, handle: `u${m.authorId}`, displayName: 'U' }, clientId: m.clientId, body: m.body, createdAt: new Date(0).toISOString(), editedAt: null, deletedAt: null };
      return { message, duplicate: false };
    },
  }, { options: { sendRatePerSec: 100, sendBurst: 100 }, handle: (uid) => `u${String(uid).padStart(5, '0')}` });
  return { hub: t.hub, connect: t.connect };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hubs: Hub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop();
});

describe('Hub: fan-out to a big room', () => {
  it('acks the sender before the fan-out reaches every subscriber, then delivers every message to everyone in order', async () => {
    const t = setup();
    hubs.push(t.hub);
    const n = DELIVERY_CHUNK * 3;
    const subs = Array.from({ length: n }, (_, i) => t.connect(1_000 + (i % 50)));
    const sender = t.connect(1);
    for (const ws of [...subs, sender]) ws.receive({ type: 'join', room: ROOM });
    // Joins and backlog replays (empty) done: everyone is live.
    await vi.waitFor(() => expect([...subs, sender].every((ws) => ws.frames.some((f) => f.type === 'caught_up'))).toBe(true), { timeout: 10_000 });

    for (let i = 1; i <= 3; i++) sender.receive({ type: 'send', room: ROOM, clientId: `c${i}`, body: `m${i}` });
    // Wait for the three acks only (they must not need the fan-out to finish).
    for (let k = 0; k < 1_000 && sender.frames.filter((f) => f.type === 'ack').length < 3; k++) await Promise.resolve();
    expect(sender.frames.filter((f) => f.type === 'ack').map((f) => (f as { seq: number }).seq)).toEqual([1, 2, 3]);
    const got = (ws: FakeWs) => ws.frames.filter((f) => f.type === 'message').map((f) => (f as { message: ChatMessage }).message.seq);
    expect(subs.filter((ws) => got(ws).length === 3).length).toBeLessThan(n); // still on its way

    await vi.waitFor(() => expect(subs.every((ws) => got(ws).length === 3)).toBe(true), { timeout: 10_000 });
    for (const ws of [...subs, sender]) expect(got(ws)).toEqual([1, 2, 3]);
  });

  it('answers each joiner with presence at once, and pushes one capped, coalesced frame to the room', async () => {
    const t = setup();
    hubs.push(t.hub);
    const users = PRESENCE_LIST_MAX + 50;
    const sockets = Array.from({ length: users }, (_, i) => t.connect(i + 1));
    for (const ws of sockets) ws.receive({ type: 'join', room: ROOM });
    const presence = (ws: FakeWs) => ws.frames.filter((f): f is Extract<ServerFrame, { type: 'presence' }> => f.type === 'presence');
    await vi.waitFor(() => expect(sockets.every((ws) => ws.frames.some((f) => f.type === 'joined'))).toBe(true), { timeout: 10_000 });
    // Every joiner heard presence right away (capped).
    for (const ws of sockets) {
      expect(presence(ws).length).toBeGreaterThanOrEqual(1);
      expect(presence(ws)[0]!.users.length).toBeLessThanOrEqual(PRESENCE_LIST_MAX);
    }
    await sleep(PRESENCE_PUSH_MS);
    await vi.waitFor(() => expect(sockets.every((ws) => presence(ws).at(-1)!.count === users)).toBe(true), { timeout: 10_000 });
    // Not one frame per join to every member: at most a joiner's answer plus a couple of coalesced pushes.
    const total = sockets.reduce((k, ws) => k + presence(ws).length, 0);
    expect(total).toBeLessThanOrEqual(users * 3);
    for (const ws of sockets) {
      const last = presence(ws).at(-1)!;
      expect(last.count).toBe(users);
      expect(last.users).toHaveLength(PRESENCE_LIST_MAX);
      expect(last.users[0]!.id).toBe(1); // sorted by handle
    }
  });

  it('gives diff sockets of a big room one count-only snapshot and count-only pushes, and the list in pages on demand', async () => {
    const t = setup();
    hubs.push(t.hub);
    const users = PRESENCE_LIST_MAX + 50;
    const sockets = Array.from({ length: users }, (_, i) => t.connect(i + 1));
    for (const ws of sockets) ws.receive({ type: 'join', room: ROOM, presence: 'diff' });
    const presenceFrames = (ws: FakeWs) => ws.frames.filter((f) => f.type === 'presence' || f.type === 'presence_diff');
    await vi.waitFor(() => expect(sockets.every((ws) => ws.frames.some((f) => f.type === 'joined'))).toBe(true), { timeout: 10_000 });
    await sleep(PRESENCE_PUSH_MS);
    const count = (ws: FakeWs) => {
      const last = presenceFrames(ws).at(-1);
      return last?.type === 'presence_diff' ? last.count : last?.type === 'presence' ? last.count : undefined;
    };
    await vi.waitFor(() => expect(sockets.every((ws) => count(ws) === users)).toBe(true), { timeout: 10_000 });
    // Once the room is above the list limit, diffs carry no lists: a late joiner's frames stay tiny.
    const last = sockets.at(-1)!;
    for (const f of presenceFrames(last)) {
      if (f.type === 'presence_diff') expect(f.joined?.length ?? 0).toBeLessThanOrEqual(PRESENCE_LIST_MAX);
    }
    expect(presenceFrames(last).at(-1)).toEqual({ type: 'presence_diff', room: ROOM, count: users });
    // No socket got a full list once the room was big, and nobody got one frame per arrival.
    const total = sockets.reduce((k, ws) => k + presenceFrames(ws).length, 0);
    expect(total).toBeLessThanOrEqual(users * 3);

    last.receive({ type: 'presence_list', room: ROOM, limit: 100 });
    await vi.waitFor(() => expect(last.frames.some((f) => f.type === 'presence_list')).toBe(true));
    const page = last.frames.find((f): f is Extract<ServerFrame, { type: 'presence_list' }> => f.type === 'presence_list')!;
    expect(page).toMatchObject({ room: ROOM, count: users, hasMore: true });
    expect(page.users).toHaveLength(100);
    last.receive({ type: 'presence_list', room: ROOM, after: page.users.at(-1)!.handle, limit: 100 });
    await vi.waitFor(() => expect(last.frames.filter((f) => f.type === 'presence_list')).toHaveLength(2));
    const second = last.frames.filter((f): f is Extract<ServerFrame, { type: 'presence_list' }> => f.type === 'presence_list')[1]!;
    expect(second).toMatchObject({ count: users, hasMore: false });
    expect(new Set([...page.users, ...second.users].map((u) => u.id)).size).toBe(users);
    // Only for joined rooms.
    last.receive({ type: 'presence_list', room: ROOM + 1 });
    await vi.waitFor(() => expect(last.frames.some((f) => f.type === 'error' && f.code === 'not_joined')).toBe(true));
  });
});
