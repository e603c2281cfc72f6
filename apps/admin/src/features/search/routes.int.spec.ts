// GET /api/search through the real app: only behind a session, JSON pages chained by cursor, bad
// cursors refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { PgSessionStore } from '../../sessions/pg-store.ts';
import { person, say, servicesFor } from '../control/service-test-kit.ts';
import { type Browser, signIn, testApp } from '../control/app-test-kit.ts';
import type { SearchPage } from './search-repository.ts';

let db: TestDatabase;
let app: FastifyInstance;
let reader: Browser;

beforeAll(async () => {
  db = await createTestDatabase('admin_search_routes');
  const sessions = new PgSessionStore(db.pool, { idleMs: 3_600_000, absoluteMs: 24 * 3_600_000 });
  const s = servicesFor(db.pool, sessions);
  app = await testApp(db.pool, db.url, sessions);
  const [owner, someone] = [await person(s), await person(s)];
  reader = await signIn(app, sessions, someone.id);
  const room = (await s.rooms.create({ name: 'Lobby', topic: '', kind: 'public', createdBy: owner.id })).id;
  for (let i = 0; i < 25; i++) await say(db.pool, room, owner.id, `heron sighting ${i}`);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const get = (url: string, who?: Browser) => app.inject({ method: 'GET', url, headers: { accept: 'application/json', ...(who ? { cookie: who.cookie } : {}) } });

describe('GET /api/search', () => {
  it('needs a session', async () => {
    const res = await get('/api/search?q=heron');
    expect(res.statusCode).toBe(401);
  });

  it('answers pages of hits chained by the cursor', async () => {
    const first = await get(`/api/search?q=${encodeURIComponent('heron')}`, reader);
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    const page1 = first.json<SearchPage>();
    expect(page1.hits).toHaveLength(20);
    expect(page1.hits[0]).toMatchObject({ roomName: 'Lobby', excerpt: 'heron sighting 24', highlights: [[0, 5]] });
    const page2 = (await get(`/api/search?q=heron&before=${page1.nextCursor!}`, reader)).json<SearchPage>();
    expect(page2.hits.map((h) => h.excerpt)).toEqual([4, 3, 2, 1, 0].map((i) => `heron sighting ${i}`));
    expect(page2.nextCursor).toBeNull();
  });

  it('refuses a cursor it did not give out, and a missing query', async () => {
    expect((await get('/api/search?q=heron&before=xyz', reader)).statusCode).toBe(400);
    expect((await get('/api/search', reader)).statusCode).toBe(400);
  });
});
