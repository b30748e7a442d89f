// @ts-check
import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

const domainFolders = [
  'shared/verdicts/**',
  'shared/recipients/**',
  'shared/routing/**',
  'shared/remediation/**',
  'shared/sources/**',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.clawback/**', '.stryker-tmp/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain stays pure: no SDKs, no network, no adapters.
    files: domainFolders,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@azure/*',
                '@microsoft/*',
                'ews-javascript-api',
                'node:http',
                'node:https',
                'node:net',
              ],
              message: 'Domain code must not import SDKs or network modules.',
            },
            {
              group: ['**/mail/**', '**/queue/**', '**/results/**', '**/secrets/**', '**/composition*'],
              message: 'Domain code must not import adapters.',
            },
          ],
        },
      ],
    },
  },
  {
    // Errors are told apart by `name` / `code` (issue 15): `instanceof` fails across module copies and realms.
    files: ['functions/**/*.ts', 'shared/**/*.ts', 'cli/**/*.ts', 'local/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          // /Error$/ also matches `Error` itself.
          selector: "BinaryExpression[operator='instanceof'][right.name=/Error$/]",
          message:
            'Tell errors apart by name or code: isError / ensureError, isClawbackError (then .code), isValidationError, or an isNamedError guard (shared/errors.ts).',
        },
      ],
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
