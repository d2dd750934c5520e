#!/usr/bin/env node
'use strict'
// ohos-backup: make a device, install apps into it, and back them up and restore them with
// the real service, from the shell.

const fs = require('fs')
const path = require('path')
const { parseArgs } = require('util')
const device = require('./device')
const progress = require('./cli/progress')

const USAGE = `Usage: ohos-backup <command> [options]

Commands:
  init [root]                       create a device (default: --root, BACKUP_DEVICE_ROOT or
                                    ~/.local/share/backup/device)
  install <bundle> [--file <sandboxPath>=<hostPath>]...
                                    install an app; each --file copies a host file or directory
                                    into its sandbox (e.g. data/storage/el2/base/files/=./notes)
  install --project <dir>           install an OpenHarmony app project (DevEco Studio layout:
                                    AppScope/app.json5, <module>/src/main/module.json5); its
                                    backup extension runs from the project's sources
  run [--root <dir>] <file.ets|.ts|.js> [export [args]...]
                                    run a backup client module as it is (@kit.CoreFileKit,
                                    @ohos.file.backup, @ohos.file.fs, ... mapped); the export
                                    (default: the default export) is called and awaited
  list                              the installed apps and their data
  caps                              the device's capability file (getLocalCapabilities)
  backup <outDir> <bundle>...       back up apps into <outDir>/<bundle>/
  backup <outDir> <bundle>... --incremental [--since <prevDir>]
                                    an incremental backup: only what changed since the backup in
                                    <prevDir> travels (without --since, or for a bundle new to
                                    it, everything); each file comes with its .rp report
  restore <inDir> [bundle]...       restore apps from a backup folder (default: all in it); a
                                    chain is restored folder by folder, oldest first
  verify <dir>...                   check backup folders completely, oldest first for a chain
  help                              this text

Options:
  --root <dir>              the device root (else BACKUP_DEVICE_ROOT, else the default)
  --version-code <n>        install: versionCode (default 1)
  --version-name <s>        install: versionName (default 1.0.0)
  --no-extension            install: no BackupExtensionAbility (backups are refused)
  --extension <file.js>     install: the extension's code (its srcEntry)
  --config <json|file>      install: backup_config.json (default {"allowToBackupRestore":true})
  --device-type <s>         init: deviceType in device.json
  --system-name <s>         init: systemFullName in device.json
  --incremental             backup: an incremental backup (IncrementalBackupSession)
  --since <prevDir>         backup: the previous run of the chain (implies --incremental)
  --apply-deletions         restore: also remove the files that were gone at that backup
                            (restore infos {"applyDeletions": true})
  --json                    list, backup, restore: print JSON (no progress output)
  --quiet, -q               backup, restore: no progress and no table; errors and the exit
                            code only

backup and restore show a progress bar on a terminal (bundles, the app's files, bytes, rate,
ETA) and a plain progress line every 2 seconds when stdout is not a terminal.
`

// What a backup run records beside its bundle folders, for the next run's --since.
const RUN_FILE = 'backup-run.json'

class UsageError extends Error {}

const OPTIONS = {
  root: { type: 'string' },
  file: { type: 'string', multiple: true },
  project: { type: 'string' },
  'version-code': { type: 'string' },
  'version-name': { type: 'string' },
  'no-extension': { type: 'boolean' },
  extension: { type: 'string' },
  config: { type: 'string' },
  'device-type': { type: 'string' },
  'system-name': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  incremental: { type: 'boolean' },
  since: { type: 'string' },
  'apply-deletions': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

const { fmtBytes } = progress

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)))
  return rows.map((r) => r.map((v, c) => String(v).padEnd(widths[c])).join('  ').trimEnd()).join('\n')
}

// The device every command but init works on: it must exist, unless it is the per-user
// default, which the service also creates on demand.
function deviceRoot(values, { create = false } = {}) {
  const explicit = values.root || process.env.BACKUP_DEVICE_ROOT
  const root = path.resolve(explicit || device.defaultRoot())
  if (!fs.existsSync(path.join(root, 'bundles'))) {
    if (explicit && !create) throw new UsageError(`no device at ${root} (create one with: ohos-backup init ${root})`)
    device.createDevice(root)
  }
  // The service reads the device root from the environment.
  process.env.BACKUP_DEVICE_ROOT = root
  return root
}

function need(positionals, n, what) {
  if (positionals.length < n) throw new UsageError(`missing ${what}`)
}

const { treeSize } = progress

const commands = {
  init(values, args) {
    if (args.length > 1) throw new UsageError('init takes at most one directory')
    const root = device.createDevice(args[0] || values.root || process.env.BACKUP_DEVICE_ROOT || device.defaultRoot(), {
      deviceType: values['device-type'],
      systemFullName: values['system-name'],
    })
    console.log(`device ready at ${root}`)
    console.log(`use it with: export BACKUP_DEVICE_ROOT=${root}`)
  },

  install(values, args) {
    if (values.project !== undefined) return require('./cli/install-project')(values, args, { deviceRoot, UsageError })
    need(args, 1, 'bundle name')
    if (args.length > 1) throw new UsageError(`unexpected argument ${args[1]} (files go with --file <sandboxPath>=<hostPath>)`)
    const [bundle] = args
    const root = deviceRoot(values, { create: false })
    const opts = {}
    if (values['version-code'] !== undefined) {
      opts.versionCode = Number(values['version-code'])
      if (!Number.isInteger(opts.versionCode)) throw new UsageError('--version-code must be an integer')
    }
    if (values['version-name'] !== undefined) opts.versionName = values['version-name']
    if (values['no-extension'] && values.extension) throw new UsageError('--no-extension and --extension exclude each other')
    if (values['no-extension']) opts.extension = false
    if (values.extension) {
      const src = path.resolve(values.extension)
      if (!fs.statSync(src, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`--extension: no file ${src}`)
      opts.extension = `ext/${path.basename(src)}`
      opts.extensionSource = src
    }
    if (values.config !== undefined) {
      const text = fs.existsSync(values.config) ? fs.readFileSync(values.config, 'utf8') : values.config
      try {
        opts.config = JSON.parse(text)
      } catch (e) {
        throw new UsageError(`--config is neither a JSON file nor JSON: ${e.message}`)
      }
    }
    // Check every --file before installing anything.
    const copies = (values.file || []).map((spec) => {
      const eq = spec.indexOf('=')
      if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--file ${spec}: expected <sandboxPath>=<hostPath>`)
      let rel
      try {
        rel = device.relativePath(spec.slice(0, eq))
      } catch (e) {
        throw new UsageError(`--file ${spec}: ${e.message}`)
      }
      const host = path.resolve(spec.slice(eq + 1))
      if (!fs.existsSync(host)) throw new UsageError(`--file ${spec}: ${host} does not exist`)
      return { rel, host }
    })
    const sandbox = device.installBundle(root, bundle, opts)
    for (const { rel, host } of copies) {
      const dest = path.join(sandbox, rel)
      fs.mkdirSync(path.dirname(dest), { recursive: true })
      // Modes and mtimes come along, so a backup and restore can be checked against the host copy.
      fs.cpSync(host, dest, { recursive: true, preserveTimestamps: true, force: true, verbatimSymlinks: true })
    }
    const { files, bytes } = treeSize(sandbox)
    console.log(`installed ${bundle} in ${root}`)
    console.log(`sandbox ${sandbox}: ${files} files, ${fmtBytes(bytes)}`)
  },

  list(values, args) {
    if (args.length) throw new UsageError('list takes no arguments')
    const root = deviceRoot(values)
    const apps = device.listBundles(root).map((name) => {
      const info = device.bundleInfo(root, name)
      const size = treeSize(device.sandboxOf(root, name))
      return {
        name,
        versionCode: info.versionCode,
        versionName: info.versionName,
        extension: info.extension ? info.extension.srcEntry || true : false,
        allowToBackupRestore: !!(info.config && info.config.allowToBackupRestore === true),
        ...size,
      }
    })
    if (values.json) return console.log(JSON.stringify({ root, bundles: apps }, null, 2))
    console.log(`device ${root}`)
    if (!apps.length) return console.log('no apps installed (add one with: ohos-backup install <bundle>)')
    const rows = [['BUNDLE', 'VERSION', 'EXTENSION', 'BACKUP', 'FILES', 'SIZE']]
    for (const a of apps) {
      rows.push([
        a.name,
        `${a.versionName} (${a.versionCode})`,
        a.extension === false ? 'none' : a.extension === true ? 'yes' : a.extension,
        a.allowToBackupRestore ? 'allowed' : 'not allowed',
        a.files,
        fmtBytes(a.bytes),
      ])
    }
    console.log(table(rows))
  },

  async caps(values, args) {
    if (args.length) throw new UsageError('caps takes no arguments')
    deviceRoot(values)
    const backup = require('../index.js')
    const { fd } = await backup.getLocalCapabilities()
    try {
      process.stdout.write(fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8').trimEnd() + '\n')
    } finally {
      fs.closeSync(fd)
    }
  },

  async backup(values, args) {
    need(args, 2, 'output folder and at least one bundle name')
    const [outDir, ...bundles] = args
    checkNames(bundles) // before the device or outDir is touched
    const root = deviceRoot(values)
    const out = path.resolve(outDir)
    const incremental = values.incremental || values.since !== undefined
    const requests = incremental ? chainRequests(bundles, values.since) : bundles
    const watcher = progress.watchBackup(root, out, bundles)
    const { result: r, final } = await progress.withProgress({ verb: 'backup', watcher, mode: progress.progressMode(values) }, () =>
      require('./client').backupToDir({ bundles: requests, outDir: out, root }),
    )
    fs.writeFileSync(path.join(out, RUN_FILE), JSON.stringify({ incremental, startedAt: r.startedAt, bundles }, null, 2) + '\n')
    return report(incremental ? 'backed up (incremental)' : 'backed up', r, values, out, final.perBundle)
  },

  async restore(values, args) {
    need(args, 1, 'backup folder')
    const [inDir, ...bundles] = args
    checkNames(bundles)
    if (!fs.statSync(inDir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`no backup folder ${path.resolve(inDir)}`)
    const root = deviceRoot(values)
    const names = bundles.length ? bundles : bundleFolders(path.resolve(inDir))
    const infos = values['apply-deletions'] ? names.map(() => JSON.stringify({ applyDeletions: true })) : undefined
    const watcher = progress.watchRestore(root, path.resolve(inDir), names)
    const { result: r } = await progress.withProgress({ verb: 'restore', watcher, mode: progress.progressMode(values) }, () =>
      require('./client').restoreFromDir({ inDir: path.resolve(inDir), bundles: names, infos, root }),
    )
    if (!Object.keys(r.bundles).length) throw new Error(`nothing to restore in ${path.resolve(inDir)}`)
    for (const [name, s] of Object.entries(r.bundles)) {
      const sandbox = device.sandboxOf(root, name)
      if (s.error && !fs.existsSync(sandbox)) s.error.message += ` (the app's sandbox folder ${sandbox} does not exist: install the app first)`
    }
    return report('restored', r, values, root, watcher.total.perBundle)
  },

  verify: (values, args) => require('./cli/verify').verify(values, args, UsageError),

  help() {
    process.stdout.write(USAGE)
  },
}

// Bundle names as the device's rule (src/device/names.rs) has them, or a usage error.
function checkNames(bundles) {
  try {
    require('./client').checkBundleNames(bundles)
  } catch (e) {
    throw new UsageError(e.message)
  }
}

// The incremental requests of a run after `since` (undefined: the first run of a chain). A
// bundle whose listing `since` lacks travels whole.
function chainRequests(bundles, since) {
  if (since === undefined) return bundles.map((bundleName) => ({ bundleName, lastIncrementalTime: 0 }))
  const prev = path.resolve(since)
  let run
  try {
    run = JSON.parse(fs.readFileSync(path.join(prev, RUN_FILE), 'utf8'))
  } catch {
    throw new UsageError(`${prev} holds no ${RUN_FILE}: --since takes a folder written by 'ohos-backup backup'`)
  }
  if (!Number.isInteger(run.startedAt)) throw new UsageError(`${path.join(prev, RUN_FILE)} has no startedAt`)
  return bundles.map((bundleName) => {
    const listing = path.join(prev, bundleName, 'manage.json.rp')
    return fs.existsSync(listing) ? { bundleName, lastIncrementalTime: run.startedAt, baseline: listing } : { bundleName, lastIncrementalTime: 0 }
  })
}

// The bundle folders of a backup folder (what `restore` plays back by default).
function bundleFolders(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
}

commands.service = require('./cli/service.js').service

// Per-bundle lines and a total; a failed bundle makes the exit code 1. "files" are the app's
// files (`appFiles`, counted in the archives by lib/cli/progress.js), not the tar parts.
function report(verb, r, values, where, counted) {
  const failed = Object.entries(r.bundles).filter(([, s]) => s.error)
  const appFiles = (name) => (counted[name] && !r.bundles[name].error ? counted[name].files : 0)
  for (const [name, s] of Object.entries(r.bundles)) s.appFiles = appFiles(name)
  r.appFiles = Object.keys(r.bundles).reduce((n, name) => n + appFiles(name), 0)
  if (values.json) console.log(JSON.stringify(r, null, 2))
  else if (!values.quiet) {
    const rows = Object.entries(r.bundles).map(([name, s]) => [
      name,
      `${s.appFiles} files`,
      fmtBytes(s.bytes),
      s.error ? `FAILED ${s.error.code}: ${s.error.message}` : 'ok',
    ])
    console.log(table(rows))
    console.log(`${verb} ${Object.keys(r.bundles).length - failed.length} of ${Object.keys(r.bundles).length} bundles: ${r.appFiles} files, ${fmtBytes(r.bytes)} in ${r.ms} ms (${where})`)
  }
  if (failed.length) {
    console.error(`ohos-backup: ${failed.length} bundle(s) failed: ${failed.map(([n]) => n).join(', ')}`)
    return 1
  }
  return 0
}

const E_SESSION_CONFLICT = 13500013

// The service's conflict message is the documented JSON ({"sessionInfo": {name, activeTime,
// scenario, …}}); a person wants to know who holds the device, since when, and for what.
function conflictInWords(message) {
  let info
  try {
    info = JSON.parse(message.slice(message.indexOf('{'))).sessionInfo
  } catch {
    return message
  }
  if (!info || !info.name) return message
  const what = { BACKUP: 'a backup', RESTORE: 'a restore' }[info.scenario] || 'a session'
  return `the device is busy: ${info.name} (process name[pid]) has held ${what} session on it since ${info.activeTime} UTC; wait for it to finish or end that process`
}

async function main(argv) {
  // run's arguments after the file are the client function's own, so they are not parsed here.
  if (argv[0] === 'run') return require('./cli/run')(argv.slice(1), { deviceRoot, UsageError })
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError(e.message)
  }
  const { values, positionals } = parsed
  const [name, ...args] = positionals
  if (values.help || !name) return commands.help()
  const command = Object.hasOwn(commands, name) ? commands[name] : name === 'capabilities' ? commands.caps : null
  if (!command) throw new UsageError(`unknown command '${name}'`)
  return command(values, args)
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = typeof code === 'number' ? code : 0
    },
    (e) => {
      if (e instanceof UsageError) {
        console.error(`ohos-backup: ${e.message}\nRun 'ohos-backup help' for usage.`)
        process.exitCode = 2
      } else {
        const code = typeof e.code === 'number' ? ` (code ${e.code})` : ''
        console.error(`ohos-backup: ${e.code === E_SESSION_CONFLICT ? conflictInWords(e.message) : e.message}${code}`)
        process.exitCode = 1
      }
    },
  )
}

module.exports = { main }
