// Lint: typescript-eslint's recommended rules everywhere, plus the workflow sandbox fence as an
// allowlist: src/workflows/** may import only @temporalio/workflow, @temporalio/common, pure
// packages and src/shared (activities as types); src/shared/** only pure code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // The sandbox fence, as an allowlist: workflow code imports only the workflow SDK, pure shared
    // code and pure packages; activities only as types (for proxyActivities).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(?!(@temporalio/workflow|@temporalio/common|difflib|\./[\w-]+|\.\./shared/[\w-]+|\.\./activities(/[\w-]+)?)$)`,
              message: 'Workflow code is deterministic and sandboxed: it imports only @temporalio/workflow, @temporalio/common, src/shared and pure packages; do I/O in an activity.',
            },
            { regex: String.raw`^\.\./activities(/|$)`, allowTypeImports: true, message: 'Workflow code imports activities as types only (proxyActivities).' },
          ],
        },
      ],
    },
  },
  {
    // Shared code runs on both sides of the sandbox: pure, with no I/O package and no Node built-in.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(?!(@temporalio/common|difflib|\./[\w-]+)$)`,
              message: 'src/shared is imported by workflow code: only pure code (src/shared itself, @temporalio/common, pure packages).',
            },
          ],
        },
      ],
    },
  },
);
