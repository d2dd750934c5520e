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
// Names for Node's ES-module import of this CommonJS file (its lexer reads this form without
// running it; the getter above is invisible to it), so `import { backup } from 'backup/kit'` works.
// eslint-disable-next-line no-constant-binary-expression
0 && (module.exports = { backup, fileIo, BackupExtensionAbility })
