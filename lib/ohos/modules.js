'use strict'
// The OpenHarmony module names that real apps and backup clients import, and the file of this
// package that stands in for each. One table, used by the extension host, `ohos-backup run`
// (lib/ohos/loader.js) and the Jest transform (lib/jest-transform.js).

const path = require('path')

const LIB = path.join(__dirname, '..')

const MODULES = {
  '@kit.CoreFileKit': path.join(LIB, 'kit.js'),
  '@ohos.file.backup': path.join(LIB, '..', 'index.js'),
  '@ohos.file.fs': path.join(LIB, 'fs.js'),
  '@ohos.application.BackupExtensionAbility': path.join(LIB, 'extension.js'),
  '@ohos.file.BackupExtensionContext': path.join(__dirname, 'backup-extension-context.js'),
  '@kit.PerformanceAnalysisKit': path.join(__dirname, 'performance-analysis-kit.js'),
  '@ohos.hilog': path.join(__dirname, 'hilog.js'),
  '@kit.BasicServicesKit': path.join(LIB, 'basic-services.js'),
  '@ohos.base': path.join(LIB, 'basic-services.js'),
  '@kit.AbilityKit': path.join(__dirname, 'ability-kit.js'),
  '@ohos.app.ability.contextConstant': path.join(__dirname, 'context-constant.js'),
  '@ohos.buffer': path.join(__dirname, 'buffer.js'),
  '@kit.ArkTS': path.join(__dirname, 'arkts.js'),
}

/** The file standing in for an OpenHarmony module name, or undefined. */
function ohosModule(name) {
  return Object.hasOwn(MODULES, name) ? MODULES[name] : undefined
}

module.exports = { MODULES, ohosModule }
