'use strict'
// `backup/kit`, standing in for `@kit.CoreFileKit`: `import { backup, fileIo as fs } from
// '@kit.CoreFileKit'` works unchanged.
const backup = require('../index.js')
const fileIo = require('./fs.js')

module.exports = { backup, fileIo }
module.exports.default = module.exports
