// `npm run docs:env`: rewrite README's configuration tables from the config schemas' descriptions.
// With --check it writes nothing and exits 1 when the committed tables differ (scripts/readme.spec.ts
// runs the same comparison in the unit tests).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withEnvTables } from './env-docs/tables.ts';

const readmePath = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../README.md');
const committed = readFileSync(readmePath, 'utf8');
const generated = withEnvTables(committed);
if (process.argv.includes('--check')) {
  if (generated !== committed) {
    process.stderr.write('README.md configuration tables differ from the config schemas: run npm run docs:env\n');
    process.exit(1);
  }
} else if (generated !== committed) {
  writeFileSync(readmePath, generated);
  process.stderr.write('README.md configuration tables updated\n');
} else {
  process.stderr.write('README.md configuration tables are up to date\n');
}
