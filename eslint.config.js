// Flat config: typescript-eslint's type-checked recommended rules on all TypeScript (floating and
// misused promises, unsafe `any`, ...), typed through the tsconfig projects (tsconfig.json's references),
// plus Node/browser globals, and the module boundaries of docs/architecture.md: apps never import each
// other; packages never import apps (scripts/lint-boundaries.spec.ts shows a violation failing).
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
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      // `async` without `await` is how Fastify plugins and handlers, and test doubles of Promise-returning
      // interfaces, are written here: dropping `async` would turn their throws into synchronous ones.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The deploy tests walk parsed Kubernetes, Compose and Prometheus YAML, whose shape is what they check
  // (K8sObject is `any` below its metadata on purpose; the objects are validated against the Kubernetes
  // schemas instead): unsafe-`any` access is their normal case, not a slip.
  {
    files: ['deploy/tests/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // The few plain JavaScript files (build and test scripts) are in no tsconfig: lint them without types.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['apps/chat/**'], rules: { 'no-restricted-imports': forbidApps(['admin'], 'apps never import each other: share code through packages/*.') } },
  { files: ['apps/admin/**'], rules: { 'no-restricted-imports': forbidApps(['chat'], 'apps never import each other: share code through packages/*.') } },
  { files: ['packages/**'], rules: { 'no-restricted-imports': forbidApps(['admin', 'chat'], 'packages never import apps: move the shared code into a package.') } },
);
