'use strict'
// `backup/incremental-client`: one incremental backup run into a folder, on top of the
// documented `IncrementalBackupSession` (ohos-behaviour.md §1.3, §3.2, §3.4).
//
// Every file the service delivers lands in `<outDir>/<bundle>/<uri>` and its report (the fd
// in `manifestFd`) in `<outDir>/<bundle>/<uri>.rp`:
//   <ms>_part.<N>.tar  + .rp   the tar and the list of what it holds
//   <16 hex>           + .rp   a big file and its one-line report (where it goes back)
//   manage.json        + .rp   the index and the full listing: the next run's baseline
// That folder is exactly what `restoreFromDir` of `backup/client` plays back; restore a
// chain (full, then each incremental) by calling it once per folder, in order.

const fs = require('fs')
const path = require('path')

const CHUNK = 1 << 20
// Bundle names as the device accepts them (src/device/names.rs); checked before a folder of
// that name is created or replaced, so no name can reach outside `outDir`.
const BUNDLE_NAME = /^[A-Za-z][A-Za-z0-9_.]{6,127}$/
// What the service names its files (a plain file name).
const URI = /^[A-Za-z0-9_.]{1,255}$/

function loadBackup() {
  return require('../index.js')
}

function closeQuietly(fd) {
  if (typeof fd === 'number' && fd >= 0) {
    try {
      fs.closeSync(fd)
    } catch {}
  }
}

const errorOf = (e) => ({ code: typeof e.code === 'number' ? e.code : 13900042, message: String((e && e.message) || e) })

function readAt(fd, buf, pos) {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, buf.length, pos, (err, n) => (err ? reject(err) : resolve(n))))
}

// Copies the whole file behind `fd` (by pread from offset 0, whatever the fd's position) into
// a new file `dest`. Resolves with the byte count. Does not close `fd`.
async function copyFdToFile(fd, dest) {
  const out = await fs.promises.open(dest, 'w')
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    let pos = 0
    for (;;) {
      const n = await readAt(fd, buf, pos)
      if (n === 0) break
      let off = 0
      while (off < n) off += (await out.write(buf, off, n - off)).bytesWritten
      pos += n
    }
    return pos
  } finally {
    await out.close()
  }
}

// BACKUP_DEVICE_ROOT is read when a session is constructed; `root` sets it for that moment only.
function withRoot(root, fn) {
  if (!root) return fn()
  const saved = process.env.BACKUP_DEVICE_ROOT
  process.env.BACKUP_DEVICE_ROOT = root
  try {
    return fn()
  } finally {
    if (saved === undefined) delete process.env.BACKUP_DEVICE_ROOT
    else process.env.BACKUP_DEVICE_ROOT = saved
  }
}

function checkRequests(bundles) {
  if (!Array.isArray(bundles) || bundles.length === 0) {
    throw new TypeError('bundles must be a non-empty array of { bundleName, lastIncrementalTime, baseline? }')
  }
  const seen = new Set()
  return bundles.map((b, i) => {
    if (!b || typeof b !== 'object') throw new TypeError(`bundles[${i}] must be an object`)
    if (typeof b.bundleName !== 'string' || !BUNDLE_NAME.test(b.bundleName)) {
      throw new TypeError(`bundles[${i}].bundleName must be a bundle name (letters, digits, '_' and '.', starting with a letter, 7-128 characters)`)
    }
    if (seen.has(b.bundleName)) throw new TypeError(`bundles[${i}]: ${b.bundleName} is listed twice`)
    seen.add(b.bundleName)
    if (b.baseline !== undefined && b.baseline !== null && (typeof b.baseline !== 'string' || b.baseline === '')) {
      throw new TypeError(`bundles[${i}].baseline must be the path of a previous run's manage.json.rp, or undefined`)
    }
    // lastIncrementalTime is checked by the service itself (401), as the docs say.
    return b
  })
}

/**
 * Runs one incremental backup of `bundles` into `outDir`. A bundle's old folder in `outDir` is
 * replaced (its baseline, if it lives there, is opened first). Resolves once the session has
 * ended and been released, with
 * `{ bundles: { [name]: { files, bytes, error, listing } }, startedAt, files, bytes, ms }`:
 * - `files`: the uris received, in delivery order (`manage.json` last), each with `<uri>.rp`;
 * - `bytes`: bytes of those files (reports not counted);
 * - `error`: null, or `{ code, message }` of the first failure of that bundle;
 * - `listing`: path of `manage.json.rp` (the next run's `baseline`), or null when the bundle
 *   failed or sent no manage.json;
 * - `startedAt`: seconds, the next run's `lastIncrementalTime` (see index.d.ts of this file).
 * Rejects when the session fails as a whole, or with the service's BusinessError (code 401)
 * when it refuses the request (e.g. a lastIncrementalTime that is not a number).
 */
async function incrementalBackupToDir({ bundles, outDir, infos, root } = {}) {
  const requests = checkRequests(bundles)
  if (typeof outDir !== 'string' || outDir === '') throw new TypeError('outDir must be a directory path')
  if (infos !== undefined && (!Array.isArray(infos) || infos.length !== requests.length || infos.some((s) => typeof s !== 'string'))) {
    throw new TypeError(`infos must be an array of ${requests.length} JSON strings, one per bundle`)
  }
  const backup = loadBackup()
  const started = Date.now()
  // A file the scan has already passed can still change within the second the run began, and
  // the service only considers files with mtime > lastIncrementalTime: start the next run one
  // second earlier. Files of that second that did not change are hashed, not sent again.
  const startedAt = Math.floor(started / 1000) - 1

  // Baselines are opened before anything in outDir is touched (a baseline may live in the
  // folder this run replaces) and closed once appendBundles has read them.
  const baselines = []
  const list = []
  try {
    for (const b of requests) {
      const manifestFd = b.baseline ? fs.openSync(b.baseline, 'r') : -1
      if (manifestFd >= 0) baselines.push(manifestFd)
      const item = { bundleName: b.bundleName, lastIncrementalTime: b.lastIncrementalTime, manifestFd }
      if (b.parameters !== undefined) item.parameters = b.parameters
      if (b.priority !== undefined) item.priority = b.priority
      list.push(item)
    }
  } catch (e) {
    baselines.forEach(closeQuietly)
    throw e
  }

  const summary = {}
  for (const b of requests) summary[b.bundleName] = { files: [], bytes: 0, error: null, listing: null }
  const fail = (name, e) => {
    const s = name in summary ? summary[name] : (summary[name === undefined ? '(session)' : name] ||= { files: [], bytes: 0, error: null, listing: null })
    if (!s.error) s.error = errorOf(e)
  }
  const manageSeen = new Set()

  let session
  let settle
  const ended = new Promise((resolve, reject) => (settle = { resolve, reject }))
  ended.catch(() => {}) // awaited below
  const copies = []

  const callbacks = {
    onFileReady(err, file) {
      if (err) return fail(err.data, err)
      const { bundleName, uri, fd, manifestFd } = file
      if (!(bundleName in summary) || !URI.test(uri) || uri === '.' || uri === '..') {
        closeQuietly(fd)
        closeQuietly(manifestFd)
        return fail(bundleName, new Error(`unexpected file ${JSON.stringify(uri)} of ${JSON.stringify(bundleName)}`))
      }
      const s = summary[bundleName]
      s.files.push(uri) // delivery order
      const dir = path.join(outDir, bundleName)
      copies.push(
        (async () => {
          try {
            fs.mkdirSync(dir, { recursive: true })
            s.bytes += await copyFdToFile(fd, path.join(dir, uri))
            if (typeof manifestFd === 'number' && manifestFd >= 0) await copyFdToFile(manifestFd, path.join(dir, `${uri}.rp`))
            if (uri === 'manage.json') manageSeen.add(bundleName)
          } catch (e) {
            const at = s.files.indexOf(uri)
            if (at >= 0) s.files.splice(at, 1)
            fail(bundleName, e)
            // What was written is incomplete: stop the bundle rather than send the rest.
            try {
              session.cancel(bundleName)
            } catch {}
          } finally {
            closeQuietly(fd)
            closeQuietly(manifestFd)
          }
        })(),
      )
    },
    onBundleBegin(err) {
      if (err) fail(err.data, err)
    },
    onBundleEnd(err) {
      if (err) fail(err.data, err)
    },
    onAllBundlesEnd(err) {
      if (err) settle.reject(err)
      else settle.resolve()
    },
    onBackupServiceDied() {
      settle.reject(Object.assign(new Error('the backup service died'), { code: 13600001 }))
    },
    onResultReport(bundleName, result) {
      if (bundleName in summary) summary[bundleName].result = result
    },
  }

  try {
    for (const b of requests) fs.rmSync(path.join(outDir, b.bundleName), { recursive: true, force: true })
    fs.mkdirSync(outDir, { recursive: true })
    session = withRoot(root, () => new backup.IncrementalBackupSession(callbacks))
  } catch (e) {
    baselines.forEach(closeQuietly)
    throw e
  }
  try {
    try {
      // The service reads every baseline before appendBundles returns (DESIGN.md §5.9).
      await (infos === undefined ? session.appendBundles(list) : session.appendBundles(list, infos))
    } finally {
      baselines.forEach(closeQuietly)
    }
    await ended
  } finally {
    await Promise.allSettled(copies)
    await session.release().catch(() => {})
  }

  for (const [name, s] of Object.entries(summary)) {
    if (!s.error && manageSeen.has(name)) s.listing = path.join(outDir, name, 'manage.json.rp')
  }
  const all = Object.values(summary)
  return {
    bundles: summary,
    startedAt,
    files: all.reduce((n, s) => n + s.files.length, 0),
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    ms: Date.now() - started,
  }
}

module.exports = { incrementalBackupToDir }
