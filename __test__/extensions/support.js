'use strict'
// What the suites of __test__/extensions/ share: installing fixture apps, recording every event of
// a session, running a backup or a restore of them, and finding leftover extension processes.
const fs = require('fs')
const path = require('path')
const { performance } = require('perf_hooks')
const backup = require('backup')
const device = require('backup/device')

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'extensions')
const { FILES, WORK_AREA, useFreshDevice, workAreaLeft } = require('../support/devices.js')

/** Installs `name` on `root`; `fixture` names a file of fixtures/extensions (null: no extension module). */
function installApp(root, name, fixture, { files = { [`${FILES}/note.txt`]: `notes of ${name}\n` }, config, options, versionCode, versionName } = {}) {
  const opts = { files, config, versionCode, versionName }
  if (fixture) Object.assign(opts, { extension: 'ext/app.js', extensionSource: path.join(FIXTURES, `${fixture}.js`) })
  device.installBundle(root, name, opts)
  if (options) fs.writeFileSync(path.join(device.bundleDir(root, name), 'ext-options.json'), JSON.stringify(options))
}

/** What a fixture noted in its sandbox for `hook` (null when the hook never ran, or while the
 * fixture is still writing the note: waits on it retry). */
function extRecord(root, name, hook) {
  const f = path.join(device.sandboxOf(root, name), 'data/storage/el2/base/temp/ext-record', `${hook}.json`)
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8'))
  } catch {
    return null
  }
}

/** The pids whose extension hosts are ours: this process, and the service process of the
 * current device (BACKUP_SERVICE=process), which is their parent there. */
function hostParents() {
  const parents = new Set([process.pid])
  const root = process.env.BACKUP_DEVICE_ROOT
  for (const pid of fs.readdirSync('/proc')) {
    if (!root || !/^\d+$/.test(pid)) continue
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (argv.some((a) => a.endsWith(path.join('service', 'main.js'))) && argv[argv.indexOf('--root') + 1] === root) parents.add(Number(pid))
    } catch {}
  }
  return parents
}

/** The extension hosts (and zombie children) of this process or of its device's service. */
function leftoverChildren() {
  const out = []
  const parents = hostParents()
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (!parents.has(Number(ppid))) continue
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      if (state === 'Z' || cmd.includes('extension-host.js')) out.push({ pid: Number(pid), state, cmd })
    } catch {}
  }
  return out
}

const { sleep, until } = require('../support/wait.js')
const processes = require('../support/processes.js')
// An extension host also has to have been reaped by its parent: a zombie still counts.
const alive = (pid) => processes.alive(pid, { orZombie: true })

const SESSIONS = { backup: 'SessionBackup', incremental: 'IncrementalBackupSession', restore: 'SessionRestore' }

/**
 * A session that records every event: { ev, bundle, err, uri, result, process, t }. Backup
 * files are read into `received` (bundle → Map uri → Buffer) and their fds closed; restore
 * files go to `opts.onRestoreFile(file)` (which must close them); `opts.read: false` only closes
 * backup fds (for runs of many large files). `opts.onEvent(e, s)` sees
 * each event as it arrives. `s.allEnded` resolves at the (first) onAllBundlesEnd.
 */
function recordSession(kind, opts = {}) {
  const s = { kind, events: [], received: new Map(), t0: performance.now() }
  let ended
  s.allEnded = new Promise((r) => (ended = r))
  const push = (e) => {
    e.t = performance.now() - s.t0
    s.events.push(e)
    if (opts.onEvent) opts.onEvent(e, s)
  }
  s.session = new backup[SESSIONS[kind]]({
    onFileReady(err, file) {
      if (err) return push({ ev: 'file', bundle: err.data, err })
      if (kind === 'restore') {
        push({ ev: 'file', bundle: file.bundleName, uri: file.uri })
        return opts.onRestoreFile(file)
      }
      const size = fs.fstatSync(file.fd).size
      const bytes = opts.read === false ? null : fs.readFileSync(file.fd)
      fs.closeSync(file.fd)
      if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
      if (!s.received.has(file.bundleName)) s.received.set(file.bundleName, new Map())
      s.received.get(file.bundleName).set(file.uri, bytes)
      push({ ev: 'file', bundle: file.bundleName, uri: file.uri, size })
    },
    onBundleBegin: (err, name) => push({ ev: 'begin', bundle: err ? err.data : name, err }),
    onBundleEnd: (err, name) => push({ ev: 'end', bundle: err ? err.data : name, err }),
    onAllBundlesEnd: (err) => {
      push({ ev: 'all', err })
      ended()
    },
    onProcess: (name, process) => push({ ev: 'process', bundle: name, process }),
    onResultReport: (name, result) => push({ ev: 'result', bundle: name, result }),
    onBackupServiceDied: () => push({ ev: 'died' }),
  })
  s.of = (bundle) => s.events.filter((e) => e.bundle === bundle)
  s.kinds = (bundle) => s.of(bundle).map((e) => e.ev)
  s.count = (ev) => s.events.filter((e) => e.ev === ev).length
  /** Waits until `pred()` holds (the test's own timeout bounds the wait). */
  s.until = until
  return s
}

const dataOf = (bundles) => (Array.isArray(bundles) ? bundles : [bundles]).map((b) => ({ bundleName: b, lastIncrementalTime: 0, manifestFd: -1 }))

/** Backs up `names` with a session of `kind` ('backup' | 'incremental'); resolves after release. */
async function backupApps(kind, names, { infos, onEvent, read } = {}) {
  const s = recordSession(kind, { onEvent, read })
  const list = kind === 'incremental' ? dataOf(names) : names
  await (infos ? s.session.appendBundles(list, infos) : s.session.appendBundles(list))
  await s.allEnded
  await s.session.release()
  return s
}

/**
 * Restores `names` from `store` (bundle → Map uri → Buffer, as `received` of a backup): asks
 * for every file, writes it, publishes the bundle with uri '' once all its files are in.
 * `capFd` defaults to this device's capabilities; `publish: false` leaves bundles unpublished.
 * Resolves with the recording once the files are requested (await `s.allEnded` yourself).
 */
async function startRestore(store, names, { infos, capFd, onEvent, publish = true } = {}) {
  let s
  const pending = new Map(names.map((n) => [n, new Set(store.get(n).keys())]))
  s = recordSession('restore', {
    onEvent,
    onRestoreFile(file) {
      fs.writeFileSync(file.fd, store.get(file.bundleName).get(file.uri))
      fs.closeSync(file.fd)
      if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
      const left = pending.get(file.bundleName)
      left.delete(file.uri)
      if (left.size === 0 && publish) {
        s.published.push(s.session.publishFile({ bundleName: file.bundleName, uri: '' }).then(() => 0, (e) => e.code))
      }
    },
  })
  s.published = []
  const ownCaps = capFd === undefined
  if (ownCaps) capFd = (await backup.getLocalCapabilities()).fd
  try {
    await (infos ? s.session.appendBundles(capFd, names, infos) : s.session.appendBundles(capFd, names))
  } finally {
    if (ownCaps) fs.closeSync(capFd)
  }
  s.handleErrors = []
  for (const n of names) {
    for (const uri of store.get(n).keys()) {
      // A bundle that already ended (its extension never came up) is no longer in the session.
      await s.session.getFileHandle({ bundleName: n, uri }).catch((e) => s.handleErrors.push({ bundle: n, uri, code: e.code }))
    }
  }
  return s
}

module.exports = {
  useFreshDevice,
  until,
  workAreaLeft,
  FIXTURES,
  FILES,
  WORK_AREA,
  installApp,
  extRecord,
  leftoverChildren,
  hostParents,
  alive,
  sleep,
  recordSession,
  dataOf,
  backupApps,
  startRestore,
}
