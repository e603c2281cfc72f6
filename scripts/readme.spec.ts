// README's configuration tables are generated from the config schemas (scripts/env-docs/tables.ts), so
// documentation cannot silently fall behind them: these fail when a committed table differs from what
// `npm run docs:env` writes, or a variable lacks a description.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeEnv } from '@parley/config';
import { migrateConfigSchema } from '@parley/db';
import { adminConfigSchema } from '../apps/admin/src/config.ts';
import { chatConfigSchema } from '../apps/chat/src/config.ts';
import { ENV_SECTIONS, envTable, withEnvTables } from './env-docs/tables.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each([
    ['admin', adminConfigSchema],
    ['chat', chatConfigSchema],
    ['migrate', migrateConfigSchema],
  ])('describes every %s environment variable in its schema', (_name, schema) => {
    const undescribed = describeEnv(schema).filter((row) => !row.description).map((row) => row.name);
    expect(undescribed).toEqual([]);
  });

  it('has configuration tables equal to what npm run docs:env generates from the schemas', () => {
    // A diff here means a schema changed without `npm run docs:env` (or the README was edited by hand).
    expect(readme).toBe(withEnvTables(readme));
    for (const key of [...Object.keys(adminConfigSchema.shape), ...Object.keys(chatConfigSchema.shape)]) expect(readme).toContain(`| \`${key}\` |`);
  });

  it('notices a table that differs from its schema, and a section without markers', () => {
    const edited = readme.replace('| Listen address |', '| Where to listen |');
    expect(edited).not.toBe(readme);
    expect(withEnvTables(edited)).not.toBe(edited);
    expect(() => withEnvTables(readme.replace('<!-- env:chat:start -->', ''))).toThrow(/env:chat:start/);
  });

  it('refuses to document a variable without a description', () => {
    expect(() => envTable([{ name: 'X', required: true, defaultValue: undefined, description: undefined }])).toThrow(/X has no description/);
    expect(Object.keys(ENV_SECTIONS)).toEqual(['common', 'admin', 'chat', 'migrate']);
  });

  it('names the two set-up commands that .ci/run uses', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
