// Lint rules that catch real bugs: floating promises (a forgotten await on an activity) everywhere,
// and Node built-ins in workflow code (workflows must stay deterministic and sandboxable).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Every relative depth of a folder under src/ (`../x/*`, `../../x/*`, ...) and the folder itself from anywhere. */
const folder = (name) => [`**/${name}/*`, `**/${name}/**`];
/** Node built-ins by exact name (a pattern `util` would also match the project's own `../util/` folder). */
const NODE_BUILTINS = builtinModules.map((name) => ({ name, message: 'Workflow code must not import Node APIs.' }));

export default tseslint.config(
  { ignores: ['node_modules', '.keel', 'bench/results'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/test return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code: deterministic and bundled per worker. Type imports are erased, so they may cross layers.
    // run-state-schema.ts holds the RunState's zod schemas for the client side, parse-run-state.ts reads a state with
    // them; workflow code imports only their types.
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/run-state-schema.ts', 'src/workflows/parse-run-state.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS,
          patterns: [
            { group: ['node:*'], message: 'Workflow code must not import Node APIs.' },
            {
              group: ['zod', 'zod/*', '**/run-state-schema.js', '**/parse-run-state.js'],
              allowTypeImports: true,
              message: 'zod stays out of the workflow bundle (parse at the activity or client side).',
            },
            {
              group: [
                '**/agents/agent.js',
                '**/agents/tool.js',
                ...folder('activities'),
                ...folder('tools'),
                ...folder('sandbox'),
                ...folder('storage'),
                ...folder('embedded'),
                ...folder('testing'),
                ...folder('cli'),
              ],
              allowTypeImports: true,
              message: 'Workflow code sees only AgentSpecs and activity types.',
            },
          ],
        },
      ],
    },
  },
  {
    // The testing kit (keel/testing) sits on top of the product: only it, the CLI's dev/demo commands and tests use it.
    files: ['src/**/*.ts'],
    ignores: ['src/testing/**', 'src/cli.ts', 'src/cli/**', 'src/workflows/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' },
          ],
        },
      ],
    },
  },
  // After the testing-kit block: a later block's no-restricted-imports replaces an earlier one's for its files.
  {
    // Imports run one way: agents -> workflows -> activities -> sandbox/storage, the CLI on top of everything.
    files: ['src/agents/**/*.ts'],
    rules: {
      // The built-in sandbox tools (tools/sandbox/) import nothing above sandbox/ and storage/ (their own rule below).
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...folder('activities'),
                ...folder('tools'),
                '!**/tools/sandbox',
                '!**/tools/sandbox/**',
                ...folder('cli'),
                ...folder('embedded'),
                ...folder('testing'),
              ],
              message: 'The definition layer does not reach into the tool layer, activities or the CLI.',
            },
          ],
        },
      ],
    },
  },
  {
    // The tool layer (tool kinds, shared call helpers, the registry) sits between the definitions and the
    // activities: it sees activities' inputs and deps only as types. (tools/sandbox/, the built-in sandbox tools,
    // has a rule of its own.)
    files: ['src/tools/**/*.ts'],
    ignores: ['src/tools/sandbox/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...folder('activities'), ...folder('embedded')],
              allowTypeImports: true,
              message: 'The tool layer sees activities only as types.',
            },
            {
              group: [...folder('cli'), '**/cli.js'],
              message: 'The CLI sits on top: nothing below it imports from it.',
            },
            { group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/sandbox/**/*.ts', 'src/storage/**/*.ts', 'src/run-items.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...folder('activities'), ...folder('cli'), '**/cli.js'],
              message: 'Sandbox and storage sit below the activities (and the client reads stores directly).',
            },
            { group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' },
          ],
        },
      ],
    },
  },
  {
    // The built-in sandbox tools are a leaf under the definitions: agents/ (capabilities, tier limits) reads them.
    files: ['src/tools/sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...folder('agents'),
                ...folder('workflows'),
                ...folder('activities'),
                ...folder('embedded'),
                ...folder('cli'),
                '**/cli.js',
              ],
              message:
                'The built-in sandbox tools import only sandbox/, storage/, util/ and packages (agents/ imports them).',
            },
            { group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/embedded/**/*.ts', 'src/activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...folder('cli'), '**/cli.js'],
              message: 'The CLI sits on top: nothing below it imports from it.',
            },
            { group: ['**/testing/*', '**/testing/**'], message: 'Product code must not import the testing kit.' },
          ],
        },
      ],
    },
  },
);
