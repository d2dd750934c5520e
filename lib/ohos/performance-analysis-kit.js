'use strict'
// `@kit.PerformanceAnalysisKit`: the `hilog` that apps import from it.
const hilog = require('./hilog.js')

module.exports = { hilog }
module.exports.default = module.exports
