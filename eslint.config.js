// Lint: TypeScript-aware recommended rules for server/, test/ and bench/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CHILD_PROCESS_GATE = 'start child processes through server/core/process/ (Supervisor for long-running ones, runOnce for the rest)';

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
  {
    // One gate for child processes: the server starts them only through core/process/ (the
    // supervisor for long-running ones, runOnce for the rest), which owns argv-only spawning,
    // process groups, timeouts, bounded output and reaping. Tests, benches and scripts may spawn.
    files: ['server/**/*.{ts,js,mjs}'],
    ignores: ['server/core/process/**'],
    rules: {
      'no-restricted-imports': ['error', ...['node:child_process', 'child_process'].map((name) => ({ name, message: CHILD_PROCESS_GATE }))],
      // no-restricted-imports does not see `await import('node:child_process')`.
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^(node:)?child_process$/]', message: CHILD_PROCESS_GATE },
      ],
    },
  },
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
