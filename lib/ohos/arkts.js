'use strict'
// `@kit.ArkTS`: its `buffer` module (lib/ohos/buffer.js) and Node's `util`, whose TextEncoder
// and TextDecoder match ArkTS's.
const buffer = require('./buffer.js')
const util = require('util')

module.exports = { buffer, util }
module.exports.default = module.exports
