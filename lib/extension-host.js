'use strict'
// The extension host: the child process in which the service runs one bundle's
// BackupExtensionAbility (docs/extension-host-protocol.md). stdout carries only protocol
// lines; the app's console output goes to stderr, which the service forwards.

const writeProtocol = process.stdout.write.bind(process.stdout)
const toStderr = (...a) => process.stderr.write(require('util').format(...a) + '\n')
for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace']) console[m] = toStderr
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest)

function send(msg) {
  writeProtocol(JSON.stringify(msg) + '\n')
}

function describe(e) {
  if (e instanceof Error) return { message: e.message, name: e.name, code: typeof e.code === 'number' ? e.code : null }
  return { message: String(e), name: typeof e, code: null }
}

process.on('uncaughtException', (e) => {
  send({ type: 'fatal', error: describe(e) })
  process.exit(1)
})
process.on('unhandledRejection', (e) => {
  send({ type: 'fatal', error: describe(e) })
  process.exit(1)
})

// The app's sources: .ets/.ts/.js transpiled (cached by content), the OpenHarmony module names
// resolved to this package (lib/ohos/), relative imports with or without an extension.
require('./ohos/loader.js').installLoader()
// `fileIo` paths under /data/storage/ are this app's sandbox, as on the device.
process.env.BACKUP_CLIENT_SANDBOX = process.env.BACKUP_EXT_SANDBOX
const { BackupExtensionContext } = require('./ohos/extension-context.js')

// The framework calls the hooks by name, so any constructor will do: a subclass of
// BackupExtensionAbility, or a plain class as OpenHarmony's older samples write it.
// `module.exports = class …` or `export default class …` (a subclass also inherits the base's
// static `default`, so a class export wins).
function extensionClass(loaded, entry) {
  const Ext = typeof loaded === 'function' ? loaded : loaded && loaded.default
  if (typeof Ext === 'function' && Ext.prototype !== undefined) return Ext
  const what = loaded && typeof loaded === 'object' && 'default' in loaded ? `its default export is ${describeValue(loaded.default)}` : 'it has no default export'
  throw new TypeError(`${entry} does not export a BackupExtensionAbility class: ${what}`)
}

function describeValue(v) {
  if (v === null) return 'null'
  if (typeof v === 'function') return 'a function that is not a constructor'
  return typeof v === 'object' ? 'an object, not a class' : `a ${typeof v}`
}

let app
try {
  const entry = process.env.BACKUP_EXT_ENTRY
  const Ext = extensionClass(require(entry), entry)
  app = new Ext()
  app.context = new BackupExtensionContext(process.env.BACKUP_EXT_SANDBOX, process.env.BACKUP_EXT_BUNDLE, process.cwd())
} catch (e) {
  send({ type: 'ready', error: describe(e) })
  process.exit(1)
}
send({ type: 'ready' })

// The framework prefers the Ex variant when the app defines one.
const PREFER = { onBackupEx: 'onBackup', onRestoreEx: 'onRestore' }
const BASE_ONLY = new Set(['onProcess', 'onBackupEx', 'onRestoreEx'])

function resolveMethod(call) {
  if (typeof app[call] === 'function') return { name: call, defined: true }
  if (PREFER[call]) return { name: PREFER[call], defined: false }
  return { name: null, defined: false }
}

function handle(msg) {
  const { id, call, args } = msg
  if (call === 'exit') {
    process.exit(0)
  }
  const { name, defined } = resolveMethod(call)
  Promise.resolve()
    .then(() => (name && !(BASE_ONLY.has(name) && !defined) ? app[name](...(Array.isArray(args) ? args : [])) : undefined))
    .then(
      (value) => send({ id, ok: true, value: typeof value === 'string' ? value : null, defined }),
      (e) => send({ id, ok: false, error: describe(e) }),
    )
}

let buffered = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  buffered += chunk
  let nl
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl)
    buffered = buffered.slice(nl + 1)
    if (!line.trim()) continue
    let msg
    try {
      msg = JSON.parse(line)
    } catch {
      continue
    }
    handle(msg)
  }
})
// The service went away (or is done): nothing more will be asked.
process.stdin.on('end', () => process.exit(0))
