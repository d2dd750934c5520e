'use strict'
// updateSendRate (issue 4): at most `rate` files per second for one bundle of a backup, 0 pauses,
// clamped at 800; false where it cannot apply; 401 for bad arguments.

// ---- helpers (each file of __test__/extensions/ carries its own copy) -------------------------
const fs = require('fs')
const os = require('os')
const path = require('path')
const { performance } = require('perf_hooks')
const backup = require('backup')
const device = require('backup/device')

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'apps')
const FILES = 'data/storage/el2/base/files'
const WORK_AREA = 'data/storage/el2/base/.backup'

/** Installs `name` on `root`; `fixture` names a file of fixtures/apps (null: no extension module). */
function installApp(root, name, fixture, { files = { [`${FILES}/note.txt`]: `notes of ${name}\n` }, config, options, versionCode, versionName } = {}) {
  const opts = { files, config, versionCode, versionName }
  if (fixture) Object.assign(opts, { extension: 'ext/app.js', extensionSource: path.join(FIXTURES, `${fixture}.js`) })
  device.installBundle(root, name, opts)
  if (options) fs.writeFileSync(path.join(device.bundleDir(root, name), 'ext-options.json'), JSON.stringify(options))
}

/** What a fixture noted in its sandbox for `hook` (null when the hook never ran). */
function extRecord(root, name, hook) {
  const f = path.join(device.sandboxOf(root, name), 'data/storage/el2/base/temp/ext-record', `${hook}.json`)
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null
}

/** This process's children that run an extension host, and any zombie child. */
function leftoverChildren() {
  const out = []
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(ppid) !== process.pid) continue
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      if (state === 'Z' || cmd.includes('extension-host.js')) out.push({ pid: Number(pid), state, cmd })
    } catch {}
  }
  return out
}

const alive = (pid) => fs.existsSync(`/proc/${pid}`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

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
  s.until = async (pred) => {
    while (!pred()) await sleep(10)
  }
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
// ---- end of helpers ------------------------------------------------------------------------------

jest.setTimeout(40000)

let root
beforeEach(() => {
  root = device.createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  process.env.BACKUP_EXTENSION_LOG = 'off'
})
afterEach(() => fs.rmSync(root, { recursive: true, force: true }))

/** `n` files just over 2 MiB each: every one is sent as a file of its own. */
const bigFiles = (n, tag) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${FILES}/v${i}.bin`, { size: (2 << 20) + 1 + i, seed: `${tag}${i}` }]))
/** The big files a bundle delivered (its tar part holds only directory entries here). */
const bigDelivered = (s, name) => s.of(name).filter((e) => e.ev === 'file' && e.size > 2 << 20)

function expectFailsWith401(fn, args) {
  let err
  try {
    fn(...args)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(Error)
  expect(err.code).toBe(401)
}

test('2 files per second: 6 big files set at onBundleBegin take at least 2 s; another bundle at the default rate does not wait', async () => {
  // The app's onBackup takes 300 ms, so the rate set at onBundleBegin is in force before any file.
  installApp(root, 'com.example.rateapp', 'slow-app', { files: bigFiles(6, 'r'), options: { delayMs: 300 } })
  installApp(root, 'com.example.fastapp', 'slow-app', { files: bigFiles(6, 'f'), options: { delayMs: 300 } })
  let set
  const s = await backupApps('backup', ['com.example.rateapp', 'com.example.fastapp'], {
    onEvent: (e) => {
      if (e.ev === 'begin' && e.bundle === 'com.example.rateapp') set = backup.updateSendRate(e.bundle, 2)
    },
  })
  expect(set).toBe(true)
  const rated = bigDelivered(s, 'com.example.rateapp')
  expect(rated).toHaveLength(6)
  // At most 2 per 1000 ms window, the first window opening when the session took the bundle:
  // the 5th and 6th file wait for the third window, 2 s after appendBundles.
  expect(rated[5].t).toBeGreaterThanOrEqual(1950)
  expect(rated[5].t - rated[0].t).toBeGreaterThanOrEqual(950)
  expect(s.kinds('com.example.rateapp').slice(-2)).toEqual(['file', 'end'])
  expect(s.of('com.example.rateapp').every((e) => e.err === undefined)).toBe(true)
  // The rate is the bundle's own: the other one sent its 6 files at the default 60 per second.
  const fast = bigDelivered(s, 'com.example.fastapp')
  expect(fast).toHaveLength(6)
  expect(fast[5].t - fast[0].t).toBeLessThan(900)
  expect(s.count('all')).toBe(1)
})

test('0 holds every file until the rate is raised; the session goes on meanwhile', async () => {
  installApp(root, 'com.example.pausedapp', 'slow-app', { files: bigFiles(3, 'p'), options: { delayMs: 200 } })
  installApp(root, 'com.example.plainapp', null)
  const calls = []
  let raisedAt
  const s = recordSession('backup', {
    onEvent: (e) => {
      if (e.ev === 'begin' && e.bundle === 'com.example.pausedapp') calls.push(['0', backup.updateSendRate(e.bundle, 0)])
    },
  })
  await s.session.appendBundles(['com.example.pausedapp', 'com.example.plainapp'])
  await s.until(() => s.kinds('com.example.plainapp').includes('end') && s.kinds('com.example.pausedapp').includes('begin'))
  const begin = s.of('com.example.pausedapp')[0]
  await s.until(() => performance.now() - s.t0 - begin.t > 1500)
  // 1.5 s after its onBundleBegin (and 1.3 s after its app finished) no file of the paused
  // bundle arrived (its app's onProcess reports may have).
  expect(s.kinds('com.example.pausedapp').filter((k) => k !== 'process')).toEqual(['begin'])
  expect(extRecord(root, 'com.example.pausedapp', 'onBackup')).not.toBeNull()
  raisedAt = performance.now() - s.t0
  calls.push(['800', backup.updateSendRate('com.example.pausedapp', 800)])
  await s.allEnded
  await s.session.release()
  expect(calls).toEqual([['0', true], ['800', true]])
  const files = s.of('com.example.pausedapp').filter((e) => e.ev === 'file')
  expect(files.map((e) => e.uri).slice(-1)).toEqual(['manage.json'])
  expect(files.filter((e) => e.size > 2 << 20)).toHaveLength(3)
  expect(files[0].t).toBeGreaterThanOrEqual(raisedAt)
  expect(s.kinds('com.example.pausedapp').slice(-1)).toEqual(['end'])
  expect(s.of('com.example.pausedapp').every((e) => e.err === undefined)).toBe(true)
  expect(s.count('all')).toBe(1)
})

test('false outside a backup session, for an unknown, a waiting or a finished bundle, and in a restore session', async () => {
  installApp(root, 'com.example.hangsone', 'hangs-app')
  installApp(root, 'com.example.hangstwo', 'hangs-app')
  installApp(root, 'com.example.hangsthree', 'hangs-app')
  installApp(root, 'com.example.waitingapp', null)
  expect(backup.updateSendRate('com.example.hangsone', 10)).toBe(false) // no session at all

  const s = recordSession('backup')
  await s.session.appendBundles(['com.example.hangsone', 'com.example.hangstwo', 'com.example.hangsthree', 'com.example.waitingapp'])
  await s.until(() => s.count('begin') === 3)
  expect(backup.updateSendRate('com.example.hangsone', 10)).toBe(true)
  expect(backup.updateSendRate('com.example.waitingapp', 10)).toBe(false) // not started
  expect(backup.updateSendRate('com.example.notinsession', 10)).toBe(false)
  expect(s.session.cancel('com.example.hangsone')).toBe(0)
  await s.until(() => s.kinds('com.example.hangsone').includes('end'))
  expect(backup.updateSendRate('com.example.hangsone', 10)).toBe(false) // its work is over
  await s.session.release()
  expect(backup.updateSendRate('com.example.hangstwo', 10)).toBe(false) // released

  // A restore session: the send rate is a backup matter.
  installApp(root, 'com.example.plainapp', null)
  const b = await backupApps('backup', ['com.example.plainapp'])
  const r = await startRestore(b.received, ['com.example.plainapp'], { publish: false })
  await r.until(() => r.kinds('com.example.plainapp').includes('begin'))
  expect(backup.updateSendRate('com.example.plainapp', 10)).toBe(false)
  await r.session.release()
  expect(leftoverChildren()).toEqual([])
})

test('bad arguments throw 401', () => {
  for (const args of [[], ['com.example.app'], ['com.example.app', -1], ['com.example.app', 1.5], ['com.example.app', '5'], [5, 5], ['com.example.app', NaN], ['com.example.app', 2 ** 31], [undefined, 5]]) {
    expectFailsWith401(backup.updateSendRate, args)
  }
})

test('a rate above 800 is accepted and clamped at 800 files per second', async () => {
  // 1601 files just over 2 MiB each (sparse: nothing is written): at 800 per 1000 ms window,
  // the last one needs a third window, so the files span more than a second.
  const N = 1601
  installApp(root, 'com.example.manyapp', 'slow-app', { files: {}, options: { delayMs: 300 } })
  const dir = path.join(device.sandboxOf(root, 'com.example.manyapp'), FILES)
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(dir, `f${String(i).padStart(4, '0')}.bin`), '')
  for (let i = 0; i < N; i++) fs.truncateSync(path.join(dir, `f${String(i).padStart(4, '0')}.bin`), (2 << 20) + 1)
  let set
  const s = await backupApps('backup', ['com.example.manyapp'], {
    read: false,
    onEvent: (e) => {
      if (e.ev === 'begin') set = backup.updateSendRate(e.bundle, 100000)
    },
  })
  expect(set).toBe(true)
  const files = bigDelivered(s, 'com.example.manyapp')
  expect(files).toHaveLength(N)
  const span = files[N - 1].t - files[0].t
  if (process.env.RATE_DEBUG) console.log({ span, first800: files[799].t - files[0].t })
  expect(span).toBeGreaterThanOrEqual(950)
  expect(s.kinds('com.example.manyapp').slice(-1)).toEqual(['end'])
})
