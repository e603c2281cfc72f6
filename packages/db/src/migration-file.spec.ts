import { describe, expect, it } from 'vitest';
import { concurrentIndexName, parseMigration } from './migration-file.ts';

describe('parseMigration', () => {
  it('runs a file in one transaction unless its leading comments carry the header', () => {
    const sql = 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n';
    expect(parseMigration('x.sql', sql)).toEqual({ transactional: true, statements: [sql] });
    // The header below the first statement does not count.
    expect(parseMigration('x.sql', `SELECT 1;\n-- parley:no-transaction\nSELECT 2;\n`).transactional).toBe(true);
  });

  it('splits a no-transaction file into its statements, without comments', () => {
    const sql = [
      '-- what this does',
      '-- parley:no-transaction',
      '',
      '-- first; with a semicolon at the end;',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx',
      "  ON a (lower(name)) WHERE name <> ';';",
      'CREATE INDEX CONCURRENTLY b_idx ON b (id) ;  ',
      '',
    ].join('\n');
    expect(parseMigration('x.sql', sql)).toEqual({
      transactional: false,
      statements: ["CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx\n  ON a (lower(name)) WHERE name <> ';'", 'CREATE INDEX CONCURRENTLY b_idx ON b (id)'],
    });
  });

  it('refuses dollar quotes in a no-transaction file (they could hide a statement end)', () => {
    expect(() => parseMigration('x.sql', '-- parley:no-transaction\nDO $$ BEGIN PERFORM 1;\nEND $$;\n')).toThrow(/x\.sql.*dollar quotes/);
  });
});

describe('concurrentIndexName', () => {
  it('names the index of a concurrent build and nothing else', () => {
    expect(concurrentIndexName('CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_search_idx ON messages USING gin (x)')).toBe('messages_search_idx');
    expect(concurrentIndexName('create unique index concurrently "u_idx" on t (a)')).toBe('u_idx');
    expect(concurrentIndexName('CREATE INDEX plain_idx ON t (a)')).toBeNull();
    expect(concurrentIndexName('DROP INDEX CONCURRENTLY x')).toBeNull();
  });
});
