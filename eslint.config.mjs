// Lint: typescript-eslint's recommended rules everywhere, plus the workflow sandbox fence:
// src/workflows/** may import only @temporalio/workflow, @temporalio/common and src/shared (and
// activities as types), never Node built-ins or I/O packages.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const ioPackages = ['pg', 'ioredis', 'openai', 'express', 'pino', 'node-pg-migrate', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.data/**', 'bench/results/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', structuredClone: 'readonly', performance: 'readonly', setTimeout: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The browser app: `tsc -p web/tsconfig.json` (DOM lib) reports undefined names there, as
    // typescript-eslint recommends for TypeScript code.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['migrations/**/*.js', '*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { exports: 'writable', module: 'writable', require: 'readonly' } },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((name) => `node:${name}`), ...ioPackages].map((name) => ({
            name,
            message: 'Workflow code is deterministic and sandboxed: do I/O in an activity.',
          })),
          patterns: [
            { group: ['../activities/*', '../db/*', '../api/*', '../stream/*', '../llm/*', '../stack/*', '../config', '../logger'], message: 'Workflow code imports only src/shared (and activities as types).', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
