'use strict'
// `ohos-backup service start|stop|status [--root <dir>]`: the backup service process of a
// device root (DESIGN.md §2). Clients start it on demand; these commands start it ahead of
// time, stop it (its sessions' clients see onBackupServiceDied) and show what it is doing.

const path = require('path')
const device = require('../device')
const { native, syncEnvironment } = require('../native.js')

const USAGE = 'usage: ohos-backup service start|stop|status [--root <dir>]'

function rootOf(values) {
  return path.resolve(values.root || process.env.BACKUP_DEVICE_ROOT || device.defaultRoot())
}

// The status JSON as printed: pid, uptime in ms, the active session's holder (or null).
function printStatus(json) {
  const s = JSON.parse(json)
  console.log(JSON.stringify({ running: true, pid: s.pid, uptimeMs: s.uptimeMs, clients: s.clients, holder: s.holder }, null, 2))
}

function service(values, args) {
  const [sub, ...rest] = args
  if (rest.length || !['start', 'stop', 'status'].includes(sub)) {
    console.error(USAGE)
    return 2
  }
  const root = rootOf(values)
  syncEnvironment()
  if (sub === 'start') {
    printStatus(native.serviceStart(root))
    return 0
  }
  if (sub === 'stop') {
    const stopped = native.serviceStop(root)
    console.log(JSON.stringify({ stopped }))
    return 0
  }
  const status = native.serviceStatus(root)
  if (status === null) {
    console.log(JSON.stringify({ running: false }))
    // As `systemctl status` says "not running".
    return 3
  }
  printStatus(status)
  return 0
}

module.exports = { service }
