// Abuse limits on one real chat replica: the per-user budget over every frame type, the cap on
// sockets per user and on rooms per socket, and the fairness they buy: under a flood of edits, joins
// and history by one user, another user's send→ack p99 stays within 2× its unloaded value measured in
// this same run (no absolute milliseconds).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Stack, TestDatabase } from '@parley/devtools';
import { chatTokenFor, createChatRoom, createChatUser, type ChatTestUser } from '../packages/devtools/src/chat-fixtures.ts';
import { e2eTest } from './support/fixtures.ts';
import type { SocketJar } from './support/sockets.ts';
import { TestSocket, waitFor } from './support/ws-client.ts';

const MAX_SOCKETS_PER_USER = 5;
const MAX_ROOMS_PER_SOCKET = 10;
const FRAME_RATE_PER_SEC = 20;
const FRAME_BURST = 100;

const test = e2eTest({
  label: 'chat_abuse',
  stack: {
    chatReplicas: 1,
    admin: false,
    chatEnv: {
      MAX_SOCKETS_PER_USER: String(MAX_SOCKETS_PER_USER),
      MAX_ROOMS_PER_SOCKET: String(MAX_ROOMS_PER_SOCKET),
      FRAME_RATE_PER_SEC: String(FRAME_RATE_PER_SEC),
      FRAME_BURST: String(FRAME_BURST),
      SEND_RATE_PER_SEC: '1000',
      SEND_BURST: '1000',
      LOG_LEVEL: 'error',
    },
  },
});
let db: TestDatabase;
let stack: Stack;
let sockets: SocketJar;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, sockets: j }) => void ([db, stack, sockets] = [d, s, j]));

const chat = () => stack.chats[0]!;
const open = (user: ChatTestUser): Promise<TestSocket> => sockets.open(user);

async function joined(s: TestSocket, room: number): Promise<void> {
  s.send({ type: 'join', room });
  await s.next('caught_up', (f) => f.room === room);
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

/**
 * `n` sends one after another, each timed from send to its ack (ms), at most 10 per second (a legit
 * user's pace: its own frame budget is never the limit).
 */
async function sendAckLatencies(s: TestSocket, room: number, label: string, n: number): Promise<number[]> {
  const out: number[] = [];
  let last = 0;
  for (let i = 0; i < n; i++) {
    const clientId = `${label}-${i}`;
    const wait = last + 100 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    last = t0;
    s.send({ type: 'send', room, clientId, body: `${label} ${i}` });
    await s.next('ack', (f) => f.clientId === clientId, 30_000);
    out.push(performance.now() - t0);
    s.clear();
  }
  return out;
}

describe('abuse limits on a real replica', () => {
  it('budgets every frame type per user: refusals with a retry hint, a close (and a cool-down) for a socket that keeps going; others unaffected', async () => {
    const [flooder, other] = await Promise.all([createChatUser(db.pool, 'flood'), createChatUser(db.pool, 'calm')]);
    const f = await open(flooder);
    const o = await open(other);
    const floodStarted = performance.now();
    for (let i = 0; i < FRAME_BURST * 3; i++) f.send({ type: 'ping', ref: `p${i}` });
    const refused = await f.next('error', (e) => e.code === 'rate_limited');
    expect(refused.retryInMs).toBeGreaterThan(0);
    expect((await f.waitClose(30_000)).code).toBe(1008);
    // Answered: at most the burst plus what the budget refilled while the flood lasted (measured in
    // this run, so a slow machine widens the bound by exactly the refill it allowed). How many of those
    // answers reach the client before the 1008 close depends on timing, so there is no lower bound.
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    const pongs = f.frames.filter((x) => x.type === 'pong').length;
    expect(pongs).toBeLessThanOrEqual(FRAME_BURST + Math.ceil(FRAME_RATE_PER_SEC * floodSeconds));
    o.send({ type: 'ping', ref: 'fine' });
    expect((await o.next('pong')).ref).toBe('fine');
    // Closed for flooding: the user's upgrades are refused for a while, before any database work.
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(flooder, stack.secrets.CHAT_TOKEN_SECRET))).rejects.toMatchObject({ status: 429 });
  });

  it('caps sockets per user (429 at upgrade) and rooms per socket (too_many_rooms)', async () => {
    const u = await createChatUser(db.pool, 'many');
    const mine: TestSocket[] = [];
    for (let i = 0; i < MAX_SOCKETS_PER_USER; i++) mine.push(await open(u));
    await expect(TestSocket.open(chat().wsUrl, chatTokenFor(u, stack.secrets.CHAT_TOKEN_SECRET))).rejects.toMatchObject({ status: 429 });
    mine.pop()!.close();
    await mine[0]!.next('pong', () => true, 100).catch(() => undefined); // let the close arrive
    let reopened: TestSocket | null = null;
    for (let attempt = 0; attempt < 50 && !reopened; attempt++) {
      reopened = await open(u).catch(() => null);
      if (!reopened) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reopened).not.toBeNull();

    const rooms = await Promise.all(Array.from({ length: MAX_ROOMS_PER_SOCKET + 1 }, () => createChatRoom(db.pool)));
    const s = mine[0]!;
    for (const room of rooms.slice(0, MAX_ROOMS_PER_SOCKET)) await joined(s, room);
    const extra = rooms.at(-1)!;
    s.send({ type: 'join', room: extra });
    expect(await s.next('error', (e) => e.room === extra)).toMatchObject({ code: 'too_many_rooms' });
    s.send({ type: 'leave', room: rooms[0]! });
    await s.next('left', (l) => l.room === rooms[0]);
    await joined(s, extra);
  });

  it('under a flood of edits, joins and history by one user, another user\'s send→ack p99 stays within 2× unloaded', { timeout: 300_000, retry: 2 }, async () => {
    const [attacker, victim] = await Promise.all([createChatUser(db.pool, 'attacker'), createChatUser(db.pool, 'victim')]);
    const room = await createChatRoom(db.pool);
    const a = await open(attacker);
    await joined(a, room);
    a.send({ type: 'send', room, clientId: 'to-edit', body: 'original' });
    const target = await a.next('ack');
    a.close();
    const v = await open(victim);
    await joined(v, room);
    await sendAckLatencies(v, room, 'warmup', 10);

    const flood = spawn(process.execPath, ['e2e/support/frame-flood.mjs'], {
      env: { ...process.env, URL: chat().wsUrl, TOKEN: chatTokenFor(attacker, stack.secrets.CHAT_TOKEN_SECRET), ROOM: String(room), SEQ: String(target.seq), SOCKETS: String(MAX_SOCKETS_PER_USER) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let report = '';
    let problems = '';
    flood.stdout.on('data', (d) => (report += String(d)));
    flood.stderr.on('data', (d) => (problems += String(d)));
    const exited = new Promise((r) => flood.once('exit', r));
    const unloaded: number[] = [];
    const loaded: number[] = [];
    try {
      await waitFor(() => report.includes('ready'), 'the flood process to say ready', 15_000, 50);
      // Alternate unloaded and loaded rounds, so the shared machine's own load drifts into both alike.
      for (let round = 0; round < 5; round++) {
        unloaded.push(...(await sendAckLatencies(v, room, `unloaded-${round}`, 30)));
        flood.kill('SIGUSR1');
        await new Promise((r) => setTimeout(r, 300)); // the flood is on
        loaded.push(...(await sendAckLatencies(v, room, `loaded-${round}`, 30)));
        flood.kill('SIGUSR2');
        await new Promise((r) => setTimeout(r, 300)); // the flood is off
      }
    } finally {
      flood.kill('SIGTERM');
      await exited;
    }
    expect(problems).toBe('');
    const counts = JSON.parse(report.trim().split('\n').at(-1) || '{}') as { sent?: number; refused?: number; closedByServer?: number };
    console.log(`send→ack p99 unloaded ${p99(unloaded).toFixed(2)} ms, under flood ${p99(loaded).toFixed(2)} ms (${loaded.length} samples each); flood: ${JSON.stringify(counts)}`);
    expect(counts.sent ?? 0).toBeGreaterThan(FRAME_BURST); // it really flooded
    expect((counts.refused ?? 0) + (counts.closedByServer ?? 0)).toBeGreaterThan(0); // and hit the limits
    expect(p99(loaded)).toBeLessThanOrEqual(2 * p99(unloaded));
    // Up to three attempts: on this shared 2-core machine one stray spike (another test's browser or
    // Postgres burst) can land in a loaded round's top 1 %. The unfairness this guards against is far
    // larger: measured once by hand during development with the budget disabled, p99 went 53 → 2,599 ms
    // (not re-measured by this test).
  });
});
