// The import-boundary rule of eslint.config.js fails on deliberate violations and allows the normal
// ways in (a package from an app, a sibling file).
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The samples are files no tsconfig holds, so they are linted without type information (the boundary
// rule needs none); everything else is the repository's own config.
const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });
const boundaryErrors = async (code: string, filePath: string) => {
  const [result] = await eslint.lintText(code, { filePath });
  const messages = result?.messages ?? [];
  // A sample that does not even parse would otherwise pass as "no boundary error".
  expect(messages.filter((m) => m.fatal)).toEqual([]);
  return messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
};

describe('import boundaries', () => {
  it('refuses an app importing another app, by relative path or package name', async () => {
    expect(await boundaryErrors("import { Hub } from '../../../chat/src/hub/hub.ts';\nexport { Hub };\n", 'apps/admin/src/features/x.ts')).toHaveLength(1);
    expect(await boundaryErrors("import { x } from '@parley/admin';\nexport { x };\n", 'apps/chat/src/x.ts')).toHaveLength(1);
  });

  it('refuses a package importing an app', async () => {
    const errors = await boundaryErrors("import { Hub } from '../../../apps/chat/src/hub/hub.ts';\nexport { Hub };\n", 'packages/db/src/x.ts');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/packages never import apps/);
  });

  it('allows packages and sibling modules', async () => {
    expect(await boundaryErrors("import { createPool } from '@parley/db';\nimport { x } from './chat/routes.ts';\nexport { createPool, x };\n", 'apps/admin/src/features/y.ts')).toEqual([]);
  });
});
