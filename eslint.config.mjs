import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'url', 'util', 'stream'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.keyward/**', '.tools/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreTemplateLiterals: false }],
    },
  },
  {
    // Workflows replay deterministically inside Temporal's sandbox: no Node built-ins, no I/O packages.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...nodeBuiltins.map((m) => `node:${m}`), 'pg', 'kysely', 'nodemailer', '@slack/bolt', '@slack/web-api'].map((name) => ({
            name,
            message: 'workflows must stay deterministic: use an activity for I/O',
          })),
          patterns: [
            { group: ['**/activities/*'], allowTypeImports: true, message: 'workflows import only the types of activities' },
            { group: ['**/store/*', '**/integrations/*', '**/server/*', '**/cli/*', '**/workers/*'], message: 'workflows import only domain/ and @temporalio/workflow' },
          ],
        },
      ],
    },
  },
  {
    // Workflows and activities log through Temporal's loggers, which carry ids and stay out of replays.
    files: ['workflows/**/*.ts', 'activities/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The server and the CLI sit on top: nothing below them reaches up.
    files: ['activities/**/*.ts', 'store/**/*.ts', 'workers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/*', '**/cli/*'], message: 'nothing imports server/ or cli/' }] }],
    },
  },
  {
    // Integrations talk to the outside world and never reach into keyward's own database.
    files: ['integrations/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/store/*', '**/server/*', '**/cli/*'], message: 'integrations never import store/, server/ or cli/' }] }],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*/*', '**/activities/*', '**/store/*', '**/integrations/*', '**/workflows/*'], message: 'domain/ imports nothing of ours' }] }],
    },
  },
);
