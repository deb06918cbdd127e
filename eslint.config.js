// Lint: TypeScript-aware recommended rules for server/, test/ and bench/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CHILD_PROCESS_GATE = 'start child processes through server/core/process/ (Supervisor for long-running ones, runOnce for the rest)';

const CHILD_PROCESS_PATHS = ['node:child_process', 'child_process'].map((name) => ({ name, message: CHILD_PROCESS_GATE }));
const CHILD_PROCESS_SYNTAX = [
  'error',
  // no-restricted-imports does not see `await import('node:child_process')`.
  { selector: 'ImportExpression[source.value=/^(node:)?child_process$/]', message: CHILD_PROCESS_GATE },
];
const NO_FEATURE = { group: ['**/features/**'], message: 'a lower floor imports no feature (docs/architecture.md "Floors")' };
const NO_ENGINE = { group: ['**/engine/**'], message: 'core imports no engine (docs/architecture.md "Floors")' };
const NO_ROOT = { group: ['**/app.js', '**/route-table.js'], message: 'only the composition root wires features and routes' };
const NO_ADAPTER = {
  group: ['**/engine/*/**'],
  message: 'features hold the MediaEngine interface (engine/media-engine.ts), never an engine adapter (docs/architecture.md "Floors")',
};

/** One config object per floor: a later object replaces a rule's options, so each carries all of its own. */
function floorRules() {
  const floor = (files, patterns, { childProcess = true, ignores = [] } = {}) => ({
    files,
    ignores,
    rules: {
      'no-restricted-imports': ['error', { paths: childProcess ? CHILD_PROCESS_PATHS : [], patterns }],
      ...(childProcess ? { 'no-restricted-syntax': CHILD_PROCESS_SYNTAX } : {}),
    },
  });
  return [
    floor(['server/**/*.{ts,js,mjs}'], []),
    floor(['server/core/**/*.ts'], [NO_FEATURE, NO_ENGINE, NO_ROOT], { ignores: ['server/core/process/**'] }),
    floor(['server/core/process/**/*.ts'], [NO_FEATURE, NO_ENGINE, NO_ROOT], { childProcess: false }),
    floor(['server/engine/**/*.ts'], [NO_FEATURE, NO_ROOT]),
    floor(['server/features/**/*.ts'], [NO_ADAPTER]),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'views/public/vendor/**', 'release/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The floors (docs/architecture.md "Floors"): core imports no feature and no engine; engine
  // adapters import no feature; features hold the MediaEngine interface, never an adapter. Plus the
  // one gate for child processes: the server starts them only through core/process/ (the supervisor
  // for long-running ones, runOnce for the rest), which owns argv-only spawning, process groups,
  // timeouts, bounded output and reaping. Tests, benches and scripts may spawn. Feature folders
  // import each other without cycles: test/unit/architecture.test.ts checks that over the graph.
  ...floorRules(),
  {
    files: ['views/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        clearTimeout: 'readonly',
        URLSearchParams: 'readonly',
        RTCPeerConnection: 'readonly',
        MediaStream: 'readonly',
        DOMParser: 'readonly',
        URL: 'readonly',
        console: 'readonly',
      },
    },
  },
  {
    files: ['installer/**/*.mjs', 'plugin/**/*.mjs', 'scripts/**/*.mjs', '*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
  },
);
