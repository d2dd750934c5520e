'use strict'
// The JS linter of the test command: eslint's recommended rules over the package's own JS.
const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  { ignores: ['node_modules/', 'target/', 'binding.js', 'npm/', 'dist/', 'bench/data/', 'bench/out/', 'demo/out/', 'fuzz/',
    // The documentation's examples, stored verbatim: snippets that name the page's variables.
    '__test__/doc-examples/examples/'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'commonjs', globals: { ...globals.node } },
    rules: {
      // Hook signatures document their parameters even where a default body ignores them.
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      // `catch {}` is how best-effort cleanup says "nothing to do".
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  { files: ['__test__/**/*.js'], languageOptions: { globals: { ...globals.jest } } },
]
