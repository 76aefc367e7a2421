// Lint rules that catch real bugs: floating promises (a forgotten await on an activity) everywhere,
// and Node built-ins in workflow code (workflows must stay deterministic and sandboxable).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.keel', 'bench/results'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/test return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'child_process', 'os', 'crypto', 'http', 'net'], message: 'Workflow code must not import Node APIs.' },
          { group: ['../agents/agent.js', '../agents/tool.js', '../activities/*', '../sandbox/*', '../embedded/*', '../testing/*'], allowTypeImports: true, message: 'Workflow code sees only AgentSpecs and activity types.' },
        ],
      }],
    },
  },
  {
    // The testing kit (keel/testing) sits on top of the product: only it, the CLI's dev/demo commands and tests use it.
    files: ['src/**/*.ts'],
    ignores: ['src/testing/**', 'src/cli.ts', 'src/cli/**', 'src/workflows/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' }] }],
    },
  },
);
