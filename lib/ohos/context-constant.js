'use strict'
// `@ohos.app.ability.contextConstant`: the encryption areas an app's context switches between
// (`this.context.area = contextConstant.AreaMode.EL1`).
const AreaMode = Object.freeze({ EL1: 0, EL2: 1, EL3: 2, EL4: 3, EL5: 4 })

const contextConstant = { AreaMode }
contextConstant.default = contextConstant
module.exports = contextConstant
