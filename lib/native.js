'use strict'
// The native binding and what every caller of it needs first: the service reads
// BACKUP_DEVICE_ROOT and friends when a call is made, and they are handed over from
// `process.env` before each call, because under Jest (or any vm context) `process.env` is a
// per-file copy that the native side cannot see. Used by index.js and by the testing aids of
// lib/device.js.

const path = require('path')
const native = require('../binding.js')

// The service starts each app's BackupExtensionAbility in a child process running this
// script (DESIGN.md §3).
const EXTENSION_HOST = path.join(__dirname, 'extension-host.js')

function syncEnvironment() {
  const vars = { BACKUP_EXTENSION_HOST: EXTENSION_HOST }
  for (const [k, v] of Object.entries(process.env)) {
    if ((k.startsWith('BACKUP_') || k === 'XDG_DATA_HOME') && typeof v === 'string') vars[k] = v
  }
  native.useEnvironment(vars)
}

module.exports = { native, syncEnvironment }
