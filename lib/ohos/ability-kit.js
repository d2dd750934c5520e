'use strict'
// `@kit.AbilityKit`: the part backup extensions use, `contextConstant.AreaMode`.
const contextConstant = require('./context-constant.js')

module.exports = { contextConstant }
module.exports.default = module.exports
