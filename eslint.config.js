// Flat config: typescript-eslint's recommended rules on all TypeScript, plus Node/browser globals,
// and the module boundaries of docs/architecture.md: apps never import each other; packages never
// import apps (scripts/lint-boundaries.spec.ts shows a violation failing).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** `no-restricted-imports` for files that may not reach into the given apps. */
const forbidApps = (apps, why) => ['error', {
  patterns: apps.map((app) => ({ group: [`@parley/${app}`, `@parley/${app}/*`, `**/apps/${app}/**`, `**/${app}/src/**`], message: why })),
}];

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', '.data/**', '.tmp/**', 'test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  { files: ['apps/chat/**'], rules: { 'no-restricted-imports': forbidApps(['admin'], 'apps never import each other: share code through packages/*.') } },
  { files: ['apps/admin/**'], rules: { 'no-restricted-imports': forbidApps(['chat'], 'apps never import each other: share code through packages/*.') } },
  { files: ['packages/**'], rules: { 'no-restricted-imports': forbidApps(['admin', 'chat'], 'packages never import apps: move the shared code into a package.') } },
);
