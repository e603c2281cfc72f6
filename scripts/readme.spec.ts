// The README's configuration tables must name every variable the services read, so documentation
// cannot silently fall behind the config schemas.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adminConfigSchema } from '../apps/admin/src/config.ts';
import { chatConfigSchema } from '../apps/chat/src/config.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each([
    ['admin', Object.keys(adminConfigSchema.shape)],
    ['chat', Object.keys(chatConfigSchema.shape)],
  ])('documents every %s environment variable', (_name, keys) => {
    const missing = keys.filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('names the two set-up commands that .ci/run uses', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
