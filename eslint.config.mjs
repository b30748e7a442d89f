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
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.clawback/**'] },
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
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
