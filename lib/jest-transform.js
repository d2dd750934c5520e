'use strict'
// `backup/jest-transform`: a Jest transform for ArkTS (.ets) and TypeScript (.ts) sources, so a
// backup client (or an app's extension) is tested as it is written for a device. Types are
// stripped by TypeScript's transpiler (lib/ohos/transpile.js) and the OpenHarmony module names
// (`@kit.CoreFileKit`, `@ohos.file.backup`, `@ohos.file.fs`, `@ohos.hilog`, `@ohos.buffer`, …;
// lib/ohos/modules.js) are pointed at this package, so no moduleNameMapper is needed for them.
//
//   "jest": {
//     "transform": { "\\.(ets|ts)$": "backup/jest-transform" },
//     "moduleFileExtensions": ["ets", "ts", "js", "json"]
//   }

const crypto = require('crypto')
const { transpileSource, cacheKey } = require('./ohos/transpile.js')
const { ohosModule } = require('./ohos/modules.js')

const rewrite = (name) => ohosModule(name)

module.exports = {
  process(source, filename) {
    return { code: transpileSource(source, filename, { rewrite }) }
  },
  // Jest keeps its own cache; the key changes with the source, its path, the compiler and
  // where this package lives (the rewritten module paths point there).
  getCacheKey(source, filename, options) {
    const config = options && options.configString ? crypto.createHash('sha256').update(options.configString).digest('hex') : ''
    return cacheKey(source, filename, `jest:${__dirname}:${config}`)
  },
}
