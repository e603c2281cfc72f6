// How the runner reads one migration file: whether it runs in a transaction (the default) or not, and,
// for the files that cannot (CREATE INDEX CONCURRENTLY refuses to run inside a transaction block, and a
// multi-statement query string is one implicit transaction), its statements one by one.

/** First-lines header that takes a file out of the per-file transaction. */
export const NO_TRANSACTION_HEADER = '-- parley:no-transaction';

export interface MigrationFile {
  transactional: boolean;
  /** The whole file for a transactional migration; one statement each otherwise. */
  statements: string[];
}

/**
 * A no-transaction file runs statement by statement; a crash can stop it between two, and the runner
 * then runs it again from the top: every statement must be idempotent (IF NOT EXISTS / IF EXISTS).
 * Statements end with `;` at the end of a line; dollar quotes are refused (no function bodies or DO
 * blocks here: those belong in a transactional file), so splitting on that rule is exact.
 */
export function parseMigration(name: string, sql: string): MigrationFile {
  const lines = sql.split(/\r?\n/);
  const firstCode = lines.findIndex((line) => line.trim() !== '' && !line.trim().startsWith('--'));
  const leading = firstCode < 0 ? lines : lines.slice(0, firstCode);
  if (!leading.some((line) => line.trim() === NO_TRANSACTION_HEADER)) return { transactional: true, statements: [sql] };
  const code = lines.filter((line) => !line.trim().startsWith('--')).join('\n');
  if (code.includes('$')) throw new Error(`migration ${name}: a no-transaction file may not contain "$" (dollar quotes); keep function bodies in a transactional file`);
  const statements = code
    .split(/;[ \t]*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
  return { transactional: false, statements };
}

/** The index a `CREATE INDEX CONCURRENTLY [IF NOT EXISTS] name` statement builds, or null. */
export function concurrentIndexName(statement: string): string | null {
  const match = /^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[A-Za-z_][A-Za-z0-9_$]*"?)/i.exec(statement);
  return match ? match[1]!.replace(/"/g, '') : null;
}
