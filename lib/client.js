'use strict'
// `backup/client`: a complete backup client on top of the documented API. `backupToDir` keeps
// every file a SessionBackup delivers under `<outDir>/<bundle>/<uri>`; `restoreFromDir` plays
// such a folder back through a SessionRestore. Used by the demo, the CLI and the tests, and a
// worked example of the event flow (ohos-behaviour.md §1–2).

const fs = require('fs')
const path = require('path')
const { pipeline } = require('stream/promises')

const CHUNK = 1 << 20

function loadBackup() {
  return require('../index.js')
}

// The device's own name rules (src/device/names.rs, exported by the addon): a bundle name
// or uri becomes a path below outDir/inDir only after these said yes.
const rules = () => require('./native.js').native
const validUri = (u) => rules().isValidUri(u)

/** Throws a TypeError naming the first bad bundle name of `names`; nothing is touched before. */
function checkBundleNames(names, where = 'bundles') {
  names.forEach((name, i) => {
    const problem = rules().bundleNameProblem(name)
    if (problem) throw new TypeError(`${where}[${i}]: ${problem}`)
  })
  return names
}

function closeQuietly(fd) {
  if (typeof fd === 'number' && fd >= 0) {
    try {
      fs.closeSync(fd)
    } catch {}
  }
}

const errorOf = (e) => ({ code: typeof e.code === 'number' ? e.code : 13900042, message: String(e.message || e) })

// BACKUP_DEVICE_ROOT is read when a session is constructed or a module function is called;
// `root` sets it around `fn` only, so a caller's environment is left as it was.
async function withRoot(root, fn) {
  if (!root) return fn()
  const saved = process.env.BACKUP_DEVICE_ROOT
  process.env.BACKUP_DEVICE_ROOT = root
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.BACKUP_DEVICE_ROOT
    else process.env.BACKUP_DEVICE_ROOT = saved
  }
}

// The callbacks both sessions share: per-bundle errors are recorded, the session's end
// settles `done`, and the app's result string is kept.
function endingEvents(fail, done, onResult) {
  return {
    onBundleBegin(err) {
      if (err) fail(err.data, err)
    },
    onBundleEnd(err) {
      if (err) fail(err.data, err)
    },
    onAllBundlesEnd(err) {
      if (err) done.reject(err)
      else done.resolve()
    },
    onBackupServiceDied() {
      done.reject(Object.assign(new Error('the backup service died'), { code: 13600001 }))
    },
    onResultReport: onResult,
  }
}

function deferred() {
  let resolve, reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

// Copies `fd` (from offset 0) into a new file; the fd is closed whatever happens. Resolves
// with the byte count.
async function fdToFile(fd, dest) {
  let bytes = 0
  const input = fs.createReadStream('', { fd, start: 0, autoClose: true, highWaterMark: CHUNK })
  input.on('data', (c) => (bytes += c.length))
  try {
    await pipeline(input, fs.createWriteStream(dest, { highWaterMark: CHUNK }))
  } finally {
    if (!input.destroyed) input.destroy()
  }
  return bytes
}

// Copies a file into `fd` (from offset 0); the fd is closed whatever happens.
async function fileToFd(src, fd) {
  let bytes = 0
  const output = fs.createWriteStream('', { fd, start: 0, autoClose: true, highWaterMark: CHUNK })
  const input = fs.createReadStream(src, { highWaterMark: CHUNK })
  input.on('data', (c) => (bytes += c.length))
  try {
    await pipeline(input, output)
  } finally {
    if (!output.destroyed) output.destroy()
  }
  return bytes
}

/**
 * Backs up `bundles` into `outDir/<bundle>/<uri>` (a `<uri>.rp` beside a file when the
 * service sends a report). A bundle's old folder is replaced. Resolves, after release, with
 * `{ bundles: { [name]: { files: [uri], bytes, error: null | {code, message}, result? } },
 * files, bytes, ms }`; rejects only when the session itself fails.
 */
// Bundles given as `{ bundleName, lastIncrementalTime, baseline? }` (baseline: the path of the
// previous run's `manage.json.rp`, the full listing) make it an incremental backup.
async function backupToDir({ bundles, outDir, infos, root }) {
  if (!Array.isArray(bundles) || bundles.length === 0) throw new TypeError('bundles must be a non-empty array of bundle names')
  if (typeof outDir !== 'string' || !outDir) throw new TypeError('outDir must be a directory path')
  if (infos !== undefined && (!Array.isArray(infos) || infos.length !== bundles.length || infos.some((s) => typeof s !== 'string'))) {
    throw new TypeError(`infos must be an array of ${bundles.length} JSON strings, one per bundle`)
  }
  const backup = loadBackup()
  const started = Date.now()
  // The next incremental run's lastIncrementalTime. The service sends files with mtime (in
  // seconds) > lastIncrementalTime, and a file the scan already passed can change within the
  // second the run began: start the next run one second earlier. An unchanged file of that
  // second is hashed against the baseline, not sent again.
  const startedAt = Math.floor(started / 1000) - 1
  const incremental = bundles.some((b) => b && typeof b === 'object')
  const requests = bundles
  bundles = incremental ? requests.map((b) => b && b.bundleName) : requests
  // Before any file-system action: a name like '..' must never reach path.join(outDir, name).
  checkBundleNames(bundles)
  // Baselines are opened before anything in outDir is replaced (a baseline may live in the
  // folder this run rewrites) and closed after the call: the service never closes them.
  const baselines = []
  let list = bundles
  if (incremental) {
    try {
      list = requests.map((b) => {
        const manifestFd = b.baseline ? fs.openSync(b.baseline, 'r') : -1
        if (manifestFd >= 0) baselines.push(manifestFd)
        const item = { bundleName: b.bundleName, lastIncrementalTime: b.lastIncrementalTime, manifestFd }
        if (b.parameters !== undefined) item.parameters = b.parameters
        if (b.priority !== undefined) item.priority = b.priority
        return item
      })
    } catch (e) {
      baselines.forEach(closeQuietly) // one baseline missing: none stays open
      throw e
    }
  }
  const summary = {}
  const entry = (name) => (summary[name] ||= { files: [], bytes: 0, error: null })
  const fail = (name, e) => {
    const s = entry(name === undefined ? '(session)' : name)
    if (!s.error) s.error = errorOf(e)
  }
  for (const name of bundles) {
    entry(name)
    fs.rmSync(path.join(outDir, name), { recursive: true, force: true })
  }
  fs.mkdirSync(outDir, { recursive: true })

  const copies = []
  const done = deferred()
  done.promise.catch(() => {}) // awaited below; this only keeps an early failure from being "unhandled"
  const callbacks = {
    onFileReady(err, file) {
      if (err) return fail(err.data, err)
      const { bundleName, uri, fd, manifestFd } = file
      if (!validUri(uri) || !(bundleName in summary)) {
        closeQuietly(fd)
        closeQuietly(manifestFd)
        return fail(bundleName, new Error(`unexpected file ${JSON.stringify(uri)} for ${bundleName}`))
      }
      const dir = path.join(outDir, bundleName)
      const copy = (async () => {
        try {
          fs.mkdirSync(dir, { recursive: true })
          const bytes = await fdToFile(fd, path.join(dir, uri))
          if (typeof manifestFd === 'number') await fdToFile(manifestFd, path.join(dir, `${uri}.rp`))
          const s = entry(bundleName)
          s.files.push(uri)
          s.bytes += bytes
        } catch (e) {
          closeQuietly(fd)
          closeQuietly(manifestFd)
          fail(bundleName, e)
        }
      })()
      copies.push(copy)
    },
    ...endingEvents(fail, done, (bundleName, result) => {
      entry(bundleName).result = result
    }),
  }

  const Session = incremental ? backup.IncrementalBackupSession : backup.SessionBackup
  let session
  try {
    session = await withRoot(root, () => new Session(callbacks))
  } catch (e) {
    baselines.forEach(closeQuietly)
    throw e
  }
  try {
    await (infos === undefined ? session.appendBundles(list) : session.appendBundles(list, infos))
    await done.promise
  } finally {
    baselines.forEach(closeQuietly)
    await Promise.all(copies)
    await session.release().catch(() => {})
  }
  if (incremental) {
    // The next run's baseline: only from a bundle that ended well.
    for (const [name, s] of Object.entries(summary)) {
      const listing = path.join(outDir, name, 'manage.json.rp')
      s.listing = !s.error && fs.existsSync(listing) ? listing : null
    }
  }
  for (const s of Object.values(summary)) s.files.sort(byUri)
  const all = Object.values(summary)
  return {
    bundles: summary,
    files: all.reduce((n, s) => n + s.files.length, 0),
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    ms: Date.now() - started,
    startedAt,
  }
}

// manage.json last, as the service sends it and as a restore must request it.
function byUri(a, b) {
  if (a === 'manage.json' || b === 'manage.json') return (a === 'manage.json') - (b === 'manage.json')
  return a < b ? -1 : a > b ? 1 : 0
}

/** The data files of a backed-up bundle folder: everything but the `<uri>.rp` reports beside them. */
function bundleFiles(dir) {
  const names = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile())
  const set = new Set(names)
  // A big file may itself end in .rp (its original's extension): it is a report only when
  // the file it reports on is there too.
  return names.filter((n) => !(n.endsWith('.rp') && set.has(n.slice(0, -3)))).sort(byUri)
}

/**
 * Restores bundles from a folder made by `backupToDir` (default: every sub-folder). Resolves,
 * after release, with `{ bundles: { [name]: { error, files, bytes, result? } }, files, bytes, ms }`;
 * rejects only when the session itself fails.
 */
async function restoreFromDir({ inDir, bundles, infos, root }) {
  if (typeof inDir !== 'string' || !inDir) throw new TypeError('inDir must be a directory path')
  const backup = loadBackup()
  const started = Date.now()
  const explicit = bundles !== undefined
  if (!explicit) {
    // Folders that are not bundle names are not backups of a bundle: left out.
    bundles = fs
      .readdirSync(inDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && rules().isValidBundleName(d.name))
      .map((d) => d.name)
      .sort()
  }
  if (!Array.isArray(bundles)) throw new TypeError('bundles must be an array of bundle names')
  if (explicit) checkBundleNames(bundles)

  const summary = {}
  const state = {}
  const fail = (name, e) => {
    const s = (summary[name] ||= { error: null, files: 0, bytes: 0 })
    if (!s.error) s.error = errorOf(e)
  }
  const toAppend = []
  const appendInfos = []
  bundles.forEach((name, i) => {
    summary[name] = { error: null, files: 0, bytes: 0 }
    const dir = path.join(inDir, name)
    let files
    try {
      files = bundleFiles(dir)
    } catch (e) {
      return fail(name, Object.assign(new Error(`no backup of ${name} in ${inDir}`), { code: 13900020 }))
    }
    // Without manage.json the service could never finish the bundle: do not start it.
    if (!files.includes('manage.json')) {
      return fail(name, Object.assign(new Error(`${dir} has no manage.json`), { code: 13900020 }))
    }
    state[name] = { dir, files, pending: new Set(files), published: false }
    toAppend.push(name)
    if (infos) appendInfos.push(infos[i])
  })
  if (toAppend.length === 0) return finishRestore(summary, started)

  const done = deferred()
  done.promise.catch(() => {}) // awaited below
  const work = []
  let session

  const publishIfComplete = (name) => {
    const st = state[name]
    if (st.published || st.pending.size > 0 || summary[name].error) return
    st.published = true
    work.push(session.publishFile({ bundleName: name, uri: '' }).catch((e) => fail(name, e)))
  }
  // A bundle that cannot get all its files must not be published half-written: cancel it.
  const abandon = (name, e) => {
    fail(name, e)
    if (state[name] && !state[name].published) {
      state[name].published = true
      try {
        session.cancel(name)
      } catch {}
    }
  }

  const callbacks = {
    onFileReady(err, file) {
      if (err) return abandon(err.data, err)
      const { bundleName, uri, fd, manifestFd } = file
      const st = state[bundleName]
      if (!st || !st.pending.has(uri)) {
        closeQuietly(fd)
        closeQuietly(manifestFd)
        return
      }
      work.push(
        (async () => {
          try {
            const bytes = await fileToFd(path.join(st.dir, uri), fd)
            const report = path.join(st.dir, `${uri}.rp`)
            if (typeof manifestFd === 'number') {
              if (fs.existsSync(report)) await fileToFd(report, manifestFd)
              else closeQuietly(manifestFd)
            }
            summary[bundleName].files += 1
            summary[bundleName].bytes += bytes
            st.pending.delete(uri)
            publishIfComplete(bundleName)
          } catch (e) {
            closeQuietly(fd)
            closeQuietly(manifestFd)
            abandon(bundleName, e)
          }
        })(),
      )
    },
    ...endingEvents(fail, done, (bundleName, result) => {
      if (summary[bundleName]) summary[bundleName].result = result
    }),
  }

  const capFd = await withRoot(root, async () => {
    const { fd } = await backup.getLocalCapabilities()
    session = new backup.SessionRestore(callbacks)
    return fd
  })
  try {
    try {
      await (infos ? session.appendBundles(capFd, toAppend, appendInfos) : session.appendBundles(capFd, toAppend))
    } finally {
      // The service has read the capabilities by now; the fd is ours to close.
      closeQuietly(capFd)
    }
    for (const name of toAppend) {
      for (const uri of state[name].files) {
        try {
          await session.getFileHandle({ bundleName: name, uri })
        } catch (e) {
          // Refused at append (then onBundleBegin said why) or a bad uri: this bundle only.
          abandon(name, e)
          break
        }
      }
    }
    await done.promise
  } finally {
    await Promise.all(work)
    await session.release().catch(() => {})
  }
  return finishRestore(summary, started)
}

function finishRestore(summary, started) {
  const all = Object.values(summary)
  return {
    bundles: summary,
    files: all.reduce((n, s) => n + s.files, 0),
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    ms: Date.now() - started,
  }
}

module.exports = { backupToDir, restoreFromDir, bundleFiles, checkBundleNames }
