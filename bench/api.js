'use strict'
// The benchmark's own minimal client of the documented API (so what is timed is the
// addon, not a helper library): a full or incremental backup that reads every delivered fd
// to EOF, and a restore that writes files back through getFileHandle/publishFile.

const fs = require('fs')
const path = require('path')

// bench/run.js points BENCH_ADDON_DIR at its private copy of the addon (so that a rebuild
// by someone else during the run changes nothing); by default, the package's own.
const ADDON_DIR = process.env.BENCH_ADDON_DIR || path.join(__dirname, '..')
const backup = require(path.join(ADDON_DIR, 'index.js'))
// The same copy's native binding, for the service commands (serviceStatus, serviceStop).
const { native } = require(path.join(ADDON_DIR, 'lib', 'native.js'))

const BUF = Buffer.allocUnsafe(1 << 20)

/** Reads `fd` to EOF from offset 0; with `out` (an fd) copies the bytes there. Returns the byte count. */
function drain(fd, out) {
  let pos = 0
  for (;;) {
    const n = fs.readSync(fd, BUF, 0, BUF.length, pos)
    if (n === 0) return pos
    if (out !== undefined) {
      for (let off = 0; off < n; ) off += fs.writeSync(out, BUF, off, n - off)
    }
    pos += n
  }
}

function closeQuietly(fd) {
  if (typeof fd === 'number' && fd >= 0) fs.closeSync(fd)
}

/**
 * Backs up `bundles`, reading every delivered fd to EOF and closing it. With `saveDir`,
 * each file is also written to saveDir/<bundle>/<uri> (and its report to <uri>.rp when the
 * file has a manifestFd). `incremental`: Array<IncrementalBackupData> instead of names.
 * Resolves { files, bytes, errors: [...] } once onAllBundlesEnd arrived and the session
 * was released.
 */
function runBackup({ bundles, incremental, saveDir }) {
  return new Promise((resolve, reject) => {
    const stats = { files: 0, bytes: 0, errors: [] }
    const Kind = incremental ? backup.IncrementalBackupSession : backup.SessionBackup
    const onError = (what) => (err) => {
      if (err) stats.errors.push(`${what} ${err.data || ''} ${err.code}: ${err.message}`)
    }
    let session
    try {
      session = new Kind({
        onFileReady: (err, file) => {
          if (err) return onError('onFileReady')(err)
          try {
            let out
            if (saveDir) {
              const dir = path.join(saveDir, file.bundleName)
              fs.mkdirSync(dir, { recursive: true })
              out = fs.openSync(path.join(dir, file.uri), 'w')
            }
            stats.bytes += drain(file.fd, out)
            closeQuietly(out)
            if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) {
              let rp
              if (saveDir) rp = fs.openSync(path.join(saveDir, file.bundleName, `${file.uri}.rp`), 'w')
              drain(file.manifestFd, rp)
              closeQuietly(rp)
            }
            stats.files++
          } finally {
            closeQuietly(file.fd)
            closeQuietly(file.manifestFd)
          }
        },
        onBundleBegin: onError('onBundleBegin'),
        onBundleEnd: onError('onBundleEnd'),
        onAllBundlesEnd: (err) => {
          onError('onAllBundlesEnd')(err)
          session.release().then(() => resolve(stats), reject)
        },
        onBackupServiceDied: () => reject(new Error('backup service died')),
      })
    } catch (e) {
      return reject(e)
    }
    session.appendBundles(incremental || bundles).catch(reject)
  })
}

/**
 * Restores `bundles` from inDir/<bundle>/<uri> (as saved by runBackup): every file is asked
 * for with getFileHandle, copied into the fd handed over, then the bundle is published.
 * Resolves { files, bytes, errors } after onAllBundlesEnd and release().
 */
function runRestore({ bundles, inDir }) {
  return new Promise((resolve, reject) => {
    const stats = { files: 0, bytes: 0, errors: [] }
    const wanted = new Map() // bundle -> Set(uri) still to write
    for (const b of bundles) {
      const uris = fs.readdirSync(path.join(inDir, b)).filter((u) => !u.endsWith('.rp'))
      wanted.set(b, new Set(uris))
    }
    const onError = (what) => (err) => {
      if (err) stats.errors.push(`${what} ${err.data || ''} ${err.code}: ${err.message}`)
    }
    let session
    const requested = new Set()
    const requestAll = (bundleName) => {
      if (requested.has(bundleName)) return
      requested.add(bundleName)
      for (const uri of wanted.get(bundleName)) session.getFileHandle({ bundleName, uri }).catch(reject)
    }
    try {
      session = new backup.SessionRestore({
        onFileReady: (err, file) => {
          if (err) return onError('onFileReady')(err)
          try {
            const src = path.join(inDir, file.bundleName, file.uri)
            const inFd = fs.openSync(src, 'r')
            try {
              stats.bytes += drain(inFd, file.fd)
            } finally {
              fs.closeSync(inFd)
            }
            if (typeof file.manifestFd === 'number' && file.manifestFd >= 0 && fs.existsSync(`${src}.rp`)) {
              const rp = fs.openSync(`${src}.rp`, 'r')
              try {
                drain(rp, file.manifestFd)
              } finally {
                fs.closeSync(rp)
              }
            }
            stats.files++
          } finally {
            closeQuietly(file.fd)
            closeQuietly(file.manifestFd)
          }
          const left = wanted.get(file.bundleName)
          left.delete(file.uri)
          if (left.size === 0) session.publishFile({ bundleName: file.bundleName, uri: '' }).catch(reject)
        },
        onBundleBegin: (err, name) => {
          if (err) return onError('onBundleBegin')(err)
          requestAll(name)
        },
        onBundleEnd: onError('onBundleEnd'),
        onAllBundlesEnd: (err) => {
          onError('onAllBundlesEnd')(err)
          session.release().then(() => resolve(stats), reject)
        },
        onBackupServiceDied: () => reject(new Error('backup service died')),
      })
    } catch (e) {
      return reject(e)
    }
    session
      .getLocalCapabilities()
      .then(async ({ fd }) => {
        try {
          await session.appendBundles(fd, bundles)
        } finally {
          fs.closeSync(fd)
        }
      })
      .catch(reject)
  })
}

/** Peak resident set size of this process so far, in bytes (VmHWM). */
/** Peak RSS (VmHWM) of this process, or of process `pid`. */
function peakRss(pid = 'self') {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

module.exports = { backup, native, runBackup, runRestore, drain, peakRss }
