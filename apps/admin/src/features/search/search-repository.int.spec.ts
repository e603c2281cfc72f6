// Search against real Postgres (the migrated schema, its GIN index and text search configuration):
// who may find what, deleted messages, phrases, prefixes, accents, filters and keyset paging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import type { User } from '../users/user-repository.ts';
import { actor, person, say, servicesFor, type TestServices } from '../control/service-test-kit.ts';
import { parseSearchQuery } from './search-query.ts';
import { decodeCursor, SearchRepository, splitHighlights, type SearchHit } from './search-repository.ts';

let db: TestDatabase;
let s: TestServices;
let search: SearchRepository;
let ann: User, bob: User, eve: User;
let general: number, secret: number, dm: number;

const find = async (user: User, q: string) => (await search.search(user.id, parseSearchQuery(q), { limit: 100 })).hits;
const where = (hits: SearchHit[]) => hits.map((h) => `${h.roomId}:${h.seq}`);

async function at(roomId: number, seq: number, iso: string): Promise<void> {
  await db.pool.query('UPDATE messages SET created_at = $3 WHERE room_id = $1 AND seq = $2', [roomId, seq, iso]);
}

beforeAll(async () => {
  db = await createTestDatabase('admin_search');
  s = servicesFor(db.pool);
  search = new SearchRepository(db.pool);
  [ann, bob, eve] = [await person(s), await person(s), await person(s)];
  general = (await s.roomService.create(actor(ann), { name: 'Lobby', topic: '', kind: 'public', createdBy: ann.id })).id;
  const secretRoom = await s.roomService.create(actor(ann), { name: 'Secret', topic: '', kind: 'private', createdBy: ann.id });
  secret = secretRoom.id;
  await s.roomService.addMember(actor(ann), secretRoom, bob, 'admin');
  dm = await s.rooms.openDirect(ann.id, bob.id);
});
afterAll(async () => db?.drop());

describe('SearchRepository', () => {
  it('finds public rooms for anyone, private rooms and DMs for members only, and forgets a removed member', async () => {
    const pub = await say(db.pool, general, ann.id, 'the zebra crossing is in general');
    const priv = await say(db.pool, secret, ann.id, 'the zebra plan is secret');
    const direct = await say(db.pool, dm, bob.id, 'zebra between us');
    expect(where(await find(ann, 'zebra')).sort()).toEqual([`${general}:${pub}`, `${secret}:${priv}`, `${dm}:${direct}`].sort());
    expect(where(await find(bob, 'zebra')).sort()).toEqual([`${general}:${pub}`, `${secret}:${priv}`, `${dm}:${direct}`].sort());
    expect(where(await find(eve, 'zebra'))).toEqual([`${general}:${pub}`]);
    // Filters cannot widen access.
    expect(await find(eve, 'in:#Secret zebra')).toEqual([]);
    expect(await find(eve, 'in:#Secret')).toEqual([]);

    const room = (await s.rooms.findById(secret))!;
    expect(await s.roomService.removeMember(actor(ann), room, bob)).toBe(true);
    expect(where(await find(bob, 'zebra')).sort()).toEqual([`${general}:${pub}`, `${dm}:${direct}`].sort());
  });

  it('never matches a deleted message', async () => {
    const kept = await say(db.pool, general, ann.id, 'walrus one');
    const gone = await say(db.pool, general, ann.id, 'walrus two');
    const mod = await person(s, 'moderator');
    expect(await s.moderation.deleteMessage(actor(mod), mod, general, gone)).toBe(true);
    expect(where(await find(eve, 'walrus'))).toEqual([`${general}:${kept}`]);
    await db.pool.query('UPDATE messages SET deleted_at = now() WHERE room_id = $1 AND seq = $2', [general, kept]);
    expect(await find(eve, 'walrus')).toEqual([]);
  });

  it('matches phrases in order, prefixes, exclusions, and ignores accents and case', async () => {
    const ordered = await say(db.pool, general, bob.id, 'Our release notes are ready');
    const shuffled = await say(db.pool, general, bob.id, 'notes about the release');
    const cafe = await say(db.pool, general, bob.id, 'Un CAFÉ au lait, s’il vous plaît');
    expect(where(await find(eve, '"release notes"'))).toEqual([`${general}:${ordered}`]);
    expect(where(await find(eve, 'release notes')).sort()).toEqual([`${general}:${ordered}`, `${general}:${shuffled}`].sort());
    expect(where(await find(eve, 'release -ready'))).toEqual([`${general}:${shuffled}`]);
    expect(where(await find(eve, 'relea*'))).toHaveLength(2);
    expect(where(await find(eve, 'cafe'))).toEqual([`${general}:${cafe}`]);
    expect(where(await find(eve, 'café'))).toEqual([`${general}:${cafe}`]);
    expect(where(await find(eve, 'caf*'))).toEqual([`${general}:${cafe}`]);
    expect(where(await find(eve, 'plaIt'))).toEqual([`${general}:${cafe}`]);
    // tsquery syntax in input is text, not syntax.
    expect(await find(eve, "relea*:*|!('")).toEqual([]);
    expect(await find(eve, 'cafe & !release')).toEqual([]);
  });

  it('highlights the matched words in a plain-text excerpt', async () => {
    await say(db.pool, general, bob.id, '<b>bold</b> claims about the narwhal & <script>x</script> narwhals');
    const [hit] = await find(eve, 'narwhal');
    expect(hit!.excerpt).toContain('<script>x</script>');
    expect(hit!.highlights.map(([a, b]) => hit!.excerpt.slice(a, b))).toEqual(['narwhal']);
    expect(splitHighlights('a \u0002b\u0003 c \u0002\u0003d')).toEqual({ excerpt: 'a b c d', highlights: [[2, 3]] });
    // A body carrying the sentinels cannot forge highlights.
    await say(db.pool, general, bob.id, 'forged \u0002okapi\u0003 okapi');
    const [forged] = await find(eve, 'okapi');
    expect(forged!.highlights.length).toBe(2);
  });

  it('filters by room, author and date, and returns newest first', async () => {
    const ops = (await s.roomService.create(actor(ann), { name: 'Ops Team', topic: '', kind: 'public', createdBy: ann.id })).id;
    const a = await say(db.pool, ops, ann.id, 'pelican report');
    const b = await say(db.pool, ops, bob.id, 'pelican report two');
    const c = await say(db.pool, general, bob.id, 'pelican elsewhere');
    await at(ops, a, '2026-01-10T12:00:00Z');
    await at(ops, b, '2026-02-10T12:00:00Z');
    await at(general, c, '2026-03-10T12:00:00Z');
    expect(where(await find(eve, 'pelican'))).toEqual([`${general}:${c}`, `${ops}:${b}`, `${ops}:${a}`]);
    expect(where(await find(eve, 'pelican from:@' + bob.handle))).toEqual([`${general}:${c}`, `${ops}:${b}`]);
    expect(where(await find(eve, 'pelican before:2026-02-10'))).toEqual([`${ops}:${a}`]);
    expect(where(await find(eve, 'pelican after:2026-02-10'))).toEqual([`${general}:${c}`]);
    expect(where(await find(eve, 'pelican after:2026-02-09 before:2026-02-11'))).toEqual([`${ops}:${b}`]);
    expect(where(await find(eve, `from:@${ann.handle} after:2026-01-09 before:2026-01-11`))).toEqual([`${ops}:${a}`]);
    expect(where(await find(eve, 'pelican in:"#ops team"'))).toEqual([`${ops}:${b}`, `${ops}:${a}`]);
    const [named] = await find(eve, 'pelican in:#lobby');
    expect(named).toMatchObject({ roomId: general, roomName: 'Lobby', roomKind: 'public', author: { id: bob.id, handle: bob.handle } });
  });

  it('pages by keyset: stable, complete and without duplicates while new messages arrive', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 25; i++) seqs.push(await say(db.pool, general, ann.id, `quokka number ${i}`));
    // Same timestamps across a page boundary: the (room, seq) tie-break keeps the order total.
    await db.pool.query(`UPDATE messages SET created_at = '2026-04-01T00:00:00Z' WHERE room_id = $1 AND body LIKE 'quokka%'`, [general]);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await search.search(eve.id, parseSearchQuery('quokka'), { before: cursor ? decodeCursor(cursor) : null, limit: 10 });
      seen.push(...page.hits.map((h) => h.seq));
      cursor = page.nextCursor;
      pages++;
      // A newer match appears between pages: it must not shift the rest.
      if (pages === 1) await say(db.pool, general, ann.id, 'quokka latecomer');
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...seqs].reverse());
    expect(decodeCursor('bm9wZQ')).toBeNull();
  });

  it('matches the GIN index expression (so the index serves the queries)', async () => {
    const client = await db.pool.connect();
    try {
      // On a table this small the planner prefers the (smaller) author index: leave it only this one.
      await client.query('BEGIN');
      await client.query('DROP INDEX messages_author_created_idx');
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT 1 FROM messages m WHERE m.deleted_at IS NULL AND parley_search_vector(m.body) @@ plainto_tsquery('parley_search', 'x')`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Bitmap Index Scan on messages_search_idx\s+\(.*\n\s+Index Cond: \(to_tsvector/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
