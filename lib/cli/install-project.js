'use strict'
// `ohos-backup install --project <dir>`: installs an OpenHarmony app project (DevEco Studio
// layout) as a bundle of the device (backup/device installProject).

const path = require('path')
const device = require('../device')

/** `ctx`: { deviceRoot(values), UsageError } of lib/cli.js. */
function installProjectCommand(values, args, ctx) {
  if (args.length) throw new ctx.UsageError(`unexpected argument ${args[0]}: --project installs the app its app.json5 names`)
  for (const opt of ['version-code', 'version-name', 'no-extension', 'extension', 'config']) {
    if (values[opt] !== undefined) throw new ctx.UsageError(`--${opt} does not go with --project: the project's own files say it`)
  }
  const root = ctx.deviceRoot(values)
  const dir = path.resolve(values.project)
  const name = device.installProject(root, dir)
  const info = device.bundleInfo(root, name)
  console.log(`installed ${name} ${info.versionName} (${info.versionCode}) from ${dir} in ${root}`)
  if (info.extension) console.log(`backup extension ${info.extension.name}: ${info.extension.srcEntry}`)
  else console.log('no backup extension ("type": "backup" in module.json5): backups of it are refused')
  if (info.extension && !info.config) console.log('no ohos.extension.backup profile: the app does not allow backup')
}

module.exports = installProjectCommand
