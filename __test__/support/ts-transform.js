'use strict'
// Jest transform for the TypeScript doc examples: type-strips with the TypeScript
// compiler (already a dev dependency) so examples run as the docs print them.
const ts = require('typescript')

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2020,
        esModuleInterop: true,
        sourceMap: false,
      },
    })
    return { code: out.outputText }
  },
}
