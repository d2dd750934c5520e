'use strict'
// `backup/kit`, standing in for `@kit.CoreFileKit` as a device's kit does:
// `import { backup, fileIo as fs, BackupExtensionAbility } from '@kit.CoreFileKit'` works
// unchanged, in a backup client and in an app's extension (the `BundleVersion` type is in
// kit.d.ts). `backup` loads the native addon when first used, so an extension that only
// needs `BackupExtensionAbility` and `fileIo` never loads it.
const fileIo = require('./fs.js')
const BackupExtensionAbility = require('./extension.js')

const kit = { fileIo, BackupExtensionAbility }
let backup
Object.defineProperty(kit, 'backup', {
  enumerable: true,
  get: () => (backup = backup || require('../index.js')),
})
kit.default = kit
module.exports = kit
