// The search scenario of `npm run bench`: a dedicated database with N messages in R rooms (1,000,000
// in 1,000 by default), bodies drawn from a Zipf-distributed vocabulary (rank r has probability ∝ 1/r:
// a few very common words and a long tail of rare ones), searched through the real SearchRepository
// (apps/admin's SQL, same GIN index as the migrations build) and, in the same run, through a plain
// `ILIKE '%word%'` with the same access rule, order and page size as the baseline.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseMigration, type Pool } from '@parley/db';
import { createBenchDatabase } from './bench-database.ts';
import { parseSearchQuery } from '../apps/admin/src/features/search/search-query.ts';
import { SearchRepository } from '../apps/admin/src/features/search/search-repository.ts';
import { median, nowMs, quantile } from './common.ts';

export interface SearchSettings {
  messages: number;
  rooms: number;
  users: number;
  vocabulary: number;
  /** Timed queries per case (distinct queries cycled). */
  iterations: number;
  /** Timed queries per ILIKE case (a rare-word ILIKE reads the whole table). */
  baselineIterations: number;
}

export interface CaseResult {
  queries: string[];
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Hits on the first page, median over the queries (shows the cases search different amounts). */
  hitsMedian: number | null;
  baseline: { count: number; p50Ms: number | null; p99Ms: number | null } | null;
}

export interface SearchResult {
  messages: number;
  rooms: number;
  seedSeconds: number;
  indexSeconds: number;
  indexBytes: number;
  tableBytes: number;
  cases: Record<'common' | 'rare' | 'from', CaseResult>;
}

const COMMON_WORDS = ['the', 'to', 'and', 'a', 'of', 'is', 'in', 'it', 'you', 'that', 'we', 'for', 'on', 'this', 'be', 'with', 'deploy', 'meeting',
  'today', 'review', 'build', 'release', 'tomorrow', 'bug', 'fix', 'test', 'lunch', 'coffee', 'ticket', 'merge', 'server', 'client', 'update', 'issue',
  'thanks', 'please', 'question', 'database', 'design', 'customer', 'café', 'résumé', 'naïve', 'Zürich', 'señor'];
const SYLLABLES = ['ka', 'lo', 'mi', 'nu', 'pe', 'ra', 'si', 'to', 'vu', 'ze', 'ba', 'do', 'fi', 'gu', 'ha', 'je', 'ko', 'li', 'mo', 'ny'];

/** The vocabulary by rank (1-based): some real words first, then distinct made-up ones. */
export function vocabulary(size: number): string[] {
  const words = COMMON_WORDS.slice(0, size);
  for (let n = 0; words.length < size; n++) {
    let word = '';
    let rest = n + SYLLABLES.length; // at least two syllables
    while (rest > 0) {
      word += SYLLABLES[rest % SYLLABLES.length];
      rest = Math.floor(rest / SYLLABLES.length);
    }
    words.push(word);
  }
  return words;
}

/** Time a query function over `count` runs cycling through `inputs` (after one untimed pass). */
async function time<T>(inputs: T[], count: number, run: (input: T) => Promise<number>): Promise<{ ms: number[]; hits: number[] }> {
  for (const input of inputs) await run(input);
  const ms: number[] = [];
  const hits: number[] = [];
  for (let i = 0; i < count; i++) {
    const input = inputs[i % inputs.length]!;
    const start = nowMs();
    hits.push(await run(input));
    ms.push(nowMs() - start);
  }
  return { ms, hits };
}

async function seed(pool: Pool, s: SearchSettings, log: (line: string) => void): Promise<void> {
  await pool.query(
    `INSERT INTO users (email, handle, display_name, password_hash)
     SELECT 'sb_' || g || '@example.test', 'sb_' || g, 'Search Bench ' || g, 'x' FROM generate_series(1, $1::int) g`,
    [s.users],
  );
  // 80% public rooms, 15% private, 5% direct; the searcher (user 1) is in 1 of 5 private rooms and DMs.
  await pool.query(
    `INSERT INTO rooms (name, kind, direct_key)
     SELECT CASE WHEN g <= $1 * 0.95 THEN 'search bench ' || g ELSE 'dm ' || g END,
            CASE WHEN g <= $1 * 0.8 THEN 'public' WHEN g <= $1 * 0.95 THEN 'private' ELSE 'direct' END,
            CASE WHEN g > $1 * 0.95 THEN '1:' || (g + 1) END
       FROM generate_series(1, $1::int) g`,
    [s.rooms],
  );
  await pool.query(`INSERT INTO room_members (room_id, user_id) SELECT id, 1 FROM rooms WHERE kind <> 'public' AND id % 5 = 0`);
  // Search indexes off while loading (rebuilt below, as the migration builds them).
  await pool.query('DROP INDEX IF EXISTS messages_search_idx');
  await pool.query('DROP INDEX IF EXISTS messages_author_created_idx');
  const words = vocabulary(s.vocabulary);
  const batch = 100_000;
  for (let from = 1; from <= s.messages; from += batch) {
    const to = Math.min(s.messages, from + batch - 1);
    // Message g: room 1 + g % R, seq in that room g / R + 1; 5–16 words, rank = floor(exp(U·ln V)) (Zipf, s = 1);
    // one message every 2 s back from now.
    await pool.query(
      `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at)
       SELECT 1 + g % $3, g / $3 + 1, 1 + (g::bigint * 7919) % $4, 'sb' || g,
              (SELECT string_agg(($5::text[])[1 + least($6 - 1, floor(exp(random() * ln($6)))::int - 1)], ' ')
                 FROM generate_series(1, 5 + (g * 31) % 12) k),
              now() - make_interval(secs => 2 * ($7 - g))
         FROM generate_series($1::int, $2::int) g`,
      [from, to, s.rooms, s.users, words, s.vocabulary, s.messages],
    );
    log(`search: seeded ${to.toLocaleString('en-US')} / ${s.messages.toLocaleString('en-US')} messages`);
  }
  await pool.query(`UPDATE rooms r SET last_seq = m.last FROM (SELECT room_id, max(seq) AS last FROM messages GROUP BY room_id) m WHERE m.room_id = r.id`);
}

export async function searchScenario(root: string, runId: string, s: SearchSettings, log: (line: string) => void, cleanups: Array<() => unknown>): Promise<SearchResult> {
  const migrations = resolve(root, 'packages/db/migrations');
  const { pool } = await createBenchDatabase(`parley_bench_search_${runId}`, { migrationsDir: migrations, poolMax: 2, applicationName: 'parley-bench-search', cleanups });

  const t0 = nowMs();
  await seed(pool, s, log);
  const seedSeconds = (nowMs() - t0) / 1000;
  const t1 = nowMs();
  // The migration's own statements (CREATE INDEX CONCURRENTLY ...), so the bench measures that index.
  const file = '0007_search_2_index.sql';
  for (const statement of parseMigration(file, readFileSync(resolve(migrations, file), 'utf8')).statements) await pool.query(statement);
  await pool.query('VACUUM ANALYZE messages');
  await pool.query('ANALYZE');
  const indexSeconds = (nowMs() - t1) / 1000;
  const { rows: [sizes] } = await pool.query<{ index: string; table: string }>(
    `SELECT pg_relation_size('messages_search_idx') AS index, pg_table_size('messages') AS table`,
  );
  log(`search: ${s.messages.toLocaleString('en-US')} messages seeded in ${seedSeconds.toFixed(1)} s, indexed in ${indexSeconds.toFixed(1)} s`);

  const words = vocabulary(s.vocabulary);
  const searcher = 1;
  const repo = new SearchRepository(pool);
  const searchRun = async (q: string) => (await repo.search(searcher, parseSearchQuery(q))).hits.length;
  // The baseline: the same rows (readable, not deleted), order and page, by a substring scan.
  const ilike = async ({ word, author }: { word: string; author?: string }) => {
    const { rowCount } = await pool.query(
      `SELECT m.room_id, m.seq, m.body FROM messages m JOIN rooms r ON r.id = m.room_id
        WHERE m.deleted_at IS NULL AND m.body ILIKE $2
          AND (r.kind = 'public' OR EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = m.room_id AND rm.user_id = $1))
          AND ($3::text IS NULL OR m.author_id = (SELECT id FROM users WHERE handle = $3))
        ORDER BY m.created_at DESC, m.room_id DESC, m.seq DESC LIMIT 21`,
      [searcher, `%${word}%`, author ?? null],
    );
    return rowCount ?? 0;
  };

  // Common: ranks 6–15 (each in several % of messages); rare: ranks in the last fifth of the vocabulary
  // (a few dozen messages each at 1M); from: an author plus a common word.
  const common = words.slice(5, 15);
  const rare = Array.from({ length: 10 }, (_, i) => words[Math.floor(s.vocabulary * 0.8) + i * Math.floor(s.vocabulary / 60)]!);
  const authors = Array.from({ length: 10 }, (_, i) => ({ author: `sb_${2 + i * 37}`, word: common[i % common.length]! }));
  const cases: SearchResult['cases'] = {} as SearchResult['cases'];
  const run = async (label: keyof SearchResult['cases'], queries: string[], baselineInputs: Array<{ word: string; author?: string }>) => {
    log(`search: ${label} (${queries.length} queries × ${Math.ceil(s.iterations / queries.length)})`);
    const timed = await time(queries, s.iterations, searchRun);
    const base = await time(baselineInputs, s.baselineIterations, ilike);
    cases[label] = {
      queries,
      count: timed.ms.length,
      p50Ms: quantile(timed.ms, 0.5),
      p99Ms: quantile(timed.ms, 0.99),
      hitsMedian: median(timed.hits),
      baseline: { count: base.ms.length, p50Ms: quantile(base.ms, 0.5), p99Ms: quantile(base.ms, 0.99) },
    };
  };
  await run('common', common, common.map((word) => ({ word })));
  await run('rare', rare, rare.map((word) => ({ word })));
  await run('from', authors.map((a) => `from:@${a.author} ${a.word}`), authors);
  return { messages: s.messages, rooms: s.rooms, seedSeconds, indexSeconds, indexBytes: Number(sizes!.index), tableBytes: Number(sizes!.table), cases };
}
