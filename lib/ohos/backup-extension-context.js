'use strict'
// `@ohos.file.BackupExtensionContext`: the context class of a backup extension. Apps import it
// for its type; the instance they get is `this.context`, made by the extension host
// (lib/ohos/extension-context.js).
const { BackupExtensionContext } = require('./extension-context.js')

module.exports = BackupExtensionContext
module.exports.BackupExtensionContext = BackupExtensionContext
module.exports.default = BackupExtensionContext
