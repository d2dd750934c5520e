'use strict'
// The extension host: the child process in which the service runs one bundle's
// BackupExtensionAbility (docs/extension-host-protocol.md). stdout carries only protocol
// lines; the app's console output goes to stderr, which the service forwards.

const path = require('path')
const BackupExtensionAbility = require('./extension.js')

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

function context(sandbox, bundleName, bundleDir) {
  const el2 = path.join(sandbox, 'data/storage/el2')
  return {
    bundleName,
    sandboxDir: sandbox,
    filesDir: path.join(el2, 'base/files'),
    cacheDir: path.join(el2, 'base/cache'),
    tempDir: path.join(el2, 'base/temp'),
    databaseDir: path.join(el2, 'database'),
    preferencesDir: path.join(el2, 'base/preferences'),
    distributedFilesDir: path.join(el2, 'distributedfiles'),
    bundleCodeDir: bundleDir,
    backupDir: path.join(el2, 'base/.backup/restore'),
  }
}

// An app's module lives in the device's bundle folder, outside any node_modules that holds
// this package: `require('backup/extension')` (or '@ohos.application.BackupExtensionAbility',
// the name OpenHarmony apps import) must still find the base class. Every entry point of
// package.json's `exports` resolves under the published name and under `backup`, the name
// the README's alias install gives it.
const Module = require('module')
const ALIASES = new Map([['@ohos.application.BackupExtensionAbility', require.resolve('./extension.js')]])
{
  const pkg = require('../package.json')
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default
    for (const name of new Set([pkg.name, 'backup'])) ALIASES.set(sub === '.' ? name : `${name}/${sub.slice(2)}`, path.join(__dirname, '..', file))
  }
}
const resolveFilename = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  return ALIASES.get(request) || resolveFilename.call(this, request, ...rest)
}

let app
try {
  const loaded = require(process.env.BACKUP_EXT_ENTRY)
  // `module.exports = class …` or `export default class …` (a subclass also inherits the
  // base's static `default`, so a class export wins).
  const Ext = typeof loaded === 'function' ? loaded : loaded && loaded.default
  if (typeof Ext !== 'function' || !(Ext.prototype instanceof BackupExtensionAbility)) {
    throw new TypeError(`${process.env.BACKUP_EXT_ENTRY} does not export a subclass of BackupExtensionAbility (require('backup/extension'))`)
  }
  app = new Ext()
  app.context = context(process.env.BACKUP_EXT_SANDBOX, process.env.BACKUP_EXT_BUNDLE, process.cwd())
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
