'use strict'
// The native binding and what every caller of it needs first: the service reads
// BACKUP_DEVICE_ROOT and friends when a call is made, and they are handed over from
// `process.env` before each call, because under Jest (or any vm context) `process.env` is a
// per-file copy that the native side cannot see. Used by index.js and by the testing aids of
// lib/device.js.
//
// Which binary: a local build from a clone (`npm run build` writes backup.<platform>.node
// beside package.json), else the prebuilt platform package that npm installed as one of the
// main package's optionalDependencies (npm/<platform>/ in the repository).

const fs = require('fs')
const path = require('path')

const ROOT = path.join(__dirname, '..')
const { PLATFORMS, packageOf, platformName } = require('./platforms.js')
const { name: PACKAGE, version: VERSION } = require('../package.json')
const PREBUILT = PLATFORMS.map((p) => p.name)

function buildFromSource() {
  return (
    'To build it from source (needs Rust stable and a C compiler): clone the repository of ' +
    `${PACKAGE}, run \`npm install && npm run build\` there, and install that folder ` +
    '(`npm install /path/to/clone`).'
  )
}

// Each try records what it found, so the final error tells the whole story.
function load(platform) {
  const tried = []
  const local = path.join(ROOT, `backup.${platform}.node`)
  if (fs.existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      tried.push(`the local build ${local} exists but does not load: ${e.message}`)
    }
  } else tried.push(`no local build ${local}`)

  const pkg = packageOf(PACKAGE, platform)
  let manifest = null
  try {
    manifest = require.resolve(`${pkg}/package.json`, { paths: [ROOT] })
  } catch {
    tried.push(`the package ${pkg} is not installed`)
  }
  if (manifest) {
    const { version, main } = JSON.parse(fs.readFileSync(manifest, 'utf8'))
    if (version !== VERSION) tried.push(`the package ${pkg} is version ${version}, but ${PACKAGE} ${VERSION} needs exactly ${VERSION}`)
    else {
      try {
        return require(path.join(path.dirname(manifest), main))
      } catch (e) {
        tried.push(`the package ${pkg} is installed but its binary does not load: ${e.message}`)
      }
    }
  }

  const prebuilt = PREBUILT.includes(platform)
    ? `${pkg} is one of the prebuilt platform packages; install again without --omit=optional (or --no-optional), from a registry that has it.`
    : `There is no prebuilt binary for ${platform}: the prebuilt ones are ${PREBUILT.join(', ')}.`
  const err = new Error(
    `${PACKAGE} ${VERSION} has no native binary for this platform, ${platform} (Node ${process.version}).\n` +
      tried.map((t) => `  - ${t}\n`).join('') +
      `${prebuilt}\n${buildFromSource()}`,
  )
  err.code = 'BACKUP_NO_NATIVE_BINARY'
  throw err
}

const native = load(platformName())

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
