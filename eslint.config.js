// Lint: typescript-eslint's type-aware recommended rules, plus the module boundaries of DESIGN.md.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Each room of the product may not reach into the ones listed. */
const boundaries = [
  {
    files: ['packages/gantry/src/config/**'],
    forbid: ['../server/*', '../stack/*', '../cli/*'],
    why: 'gantry/config stands alone',
  },
  {
    files: ['packages/gantry/src/server/**'],
    forbid: ['**/stack/*', '**/cli/*'],
    why: 'the server does not know the CLI or the stack',
  },
  {
    files: ['packages/gantry/src/server/http/**'],
    forbid: ['../app/*', '../primary/*', '../worker/*'],
    why: 'the request pipeline knows requests, not apps or processes (app/ depends on http/, never the reverse)',
  },
  {
    files: ['packages/gantry/src/server/app/**'],
    forbid: ['../primary/*', '../worker/*'],
    why: 'loading an app knows nothing of the process it runs in',
  },
  {
    files: ['packages/gantry/src/server/primary/**'],
    forbid: ['../worker/*'],
    why: 'the primary and the workers share only messages.ts',
  },
  {
    files: ['packages/gantry/src/server/worker/**'],
    forbid: ['../primary/*'],
    why: 'the primary and the workers share only messages.ts',
  },
  {
    files: [
      'packages/gantry/src/logger.ts',
      'packages/gantry/src/errors.ts',
      'packages/gantry/src/time-limit.ts',
      'packages/gantry/src/app-hooks.ts',
    ],
    forbid: ['./server/*', './stack/*', './cli/*', './config/*'],
    why: 'the ground floor imports nothing above it',
  },
  { files: ['packages/gantry/src/stack/**'], forbid: ['../server/*', '../cli/*'], why: 'the stack runs the server as a program' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', '.gantry/**', 'test/frameworks/*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts', 'app/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
    },
  },
  // Plain JavaScript (bin, fixtures, this file) is linted without type information.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  ...boundaries.map(({ files, forbid, why }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: forbid, message: why }] }] },
  })),
);
