'use strict'
// File descriptors: every fd the service hands over is the caller's to close and nothing
// else stays open after a backup + restore cycle (with or without onFileReady); delivered
// fds read from offset 0 and are read-only; the addon never closes, moves or replaces an fd
// the caller passed in (remoteCapabilitiesFd, manifestFd), DESIGN.md §5.9.

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const backup = require('backup')
const { installBundle, sandboxOf, snapshotTree, diffSnapshots } = require('backup/device')
const { tempDevices } = require('./support/devices.js')
const { readFd, writeFd } = require('./support/fds.js')
const { sleep } = require('./support/wait.js')

jest.setTimeout(60000)

const FILES = 'data/storage/el2/base/files'
const A = 'com.example.alpha'
const B = 'com.example.bravo'

const newDevice = tempDevices()

function device() {
  const root = newDevice()
  for (const name of [A, B]) {
    installBundle(root, name, {
      files: {
        [`${FILES}/note.txt`]: `note of ${name}`,
        [`${FILES}/dir/small.bin`]: { size: 30000 },
        [`${FILES}/big.bin`]: { size: (2 << 20) + 777 },
        [`${FILES}/empty/`]: {},
      },
    })
  }
  process.env.BACKUP_DEVICE_ROOT = root
  return root
}

// ---- fd helpers --------------------------------------------------------------------------

/** The open fds of this process: fd -> what it points at. */
function openFds() {
  const out = new Map()
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), fs.readlinkSync(`/proc/self/fd/${name}`))
    } catch {
      // The fd of the readdir itself is gone by now.
    }
  }
  return out
}

/** Waits until no fd beyond `baseline` is open (other code may hold one briefly), then
 * returns the extra fds still open at the deadline ([] when none). */
async function extraFdsAfter(baseline, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs
  for (;;) {
    const extra = [...openFds()].filter(([fd, target]) => baseline.get(fd) !== target)
    if (extra.length === 0 || Date.now() > end) return extra.map(([fd, target]) => `${fd} -> ${target}`)
    await sleep(50)
  }
}

function readAt(fd, position, length) {
  const buf = Buffer.alloc(length)
  const n = fs.readSync(fd, buf, 0, length, position)
  return buf.subarray(0, n)
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')

// ---- a backup + restore cycle -------------------------------------------------------------

/**
 * Backs up `bundles` and restores them. With `takeFiles` the client reads every delivered
 * fd to EOF and closes it; without, the callbacks object has no onFileReady at all.
 * Returns { saved: Map(bundle -> Map(uri -> Buffer)), events }.
 */
async function cycle(bundles, { takeFiles = true } = {}) {
  const saved = new Map(bundles.map((b) => [b, new Map()]))
  const events = []
  const open = (Kind, onFile) => {
    let drained
    const done = new Promise((r) => (drained = r))
    const callbacks = {
      onBundleBegin: (err, name) => events.push(['begin', err ? err.code : name]),
      onBundleEnd: (err, name) => events.push(['end', err ? err.code : name]),
      onAllBundlesEnd: () => drained(),
      onBackupServiceDied: () => {},
    }
    if (takeFiles) callbacks.onFileReady = (err, file) => (err ? events.push(['file', err.code]) : onFile(file))
    return { session: new backup[Kind](callbacks), done }
  }

  // Backup.
  const b = open('SessionBackup', (file) => {
    saved.get(file.bundleName).set(file.uri, readFd(file.fd, null))
    fs.closeSync(file.fd)
  })
  await b.session.appendBundles(bundles)
  await b.done
  await b.session.release()
  if (!takeFiles) return { saved, events }

  // Restore into emptied sandboxes.
  for (const name of bundles) {
    fs.rmSync(path.join(sandboxOf(process.env.BACKUP_DEVICE_ROOT, name), 'data'), { recursive: true, force: true })
  }
  const written = new Set()
  const r = open('SessionRestore', (file) => {
    writeFd(file.fd, saved.get(file.bundleName).get(file.uri))
    fs.closeSync(file.fd)
    if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
    written.add(`${file.bundleName}/${file.uri}`)
  })
  const cap = await r.session.getLocalCapabilities()
  await r.session.appendBundles(cap.fd, bundles)
  fs.closeSync(cap.fd)
  for (const name of bundles) {
    for (const uri of saved.get(name).keys()) await r.session.getFileHandle({ bundleName: name, uri })
  }
  const total = bundles.reduce((n, name) => n + saved.get(name).size, 0)
  await new Promise((resolve) => {
    const poll = () => (written.size === total ? resolve() : setTimeout(poll, 5))
    poll()
  })
  for (const name of bundles) await r.session.publishFile({ bundleName: name, uri: '' })
  await r.done
  await r.session.release()
  return { saved, events }
}

// ---- no leaks ------------------------------------------------------------------------------

describe('no fd stays open', () => {
  test('after backup + restore cycles where the caller reads and closes every fd', async () => {
    const root = device()
    const before = snapshotTree(sandboxOf(root, A))
    await cycle([A, B]) // warm-up: threads, runtime and caches that live for the process
    const baseline = openFds()
    for (let i = 0; i < 3; i++) {
      const { events } = await cycle([A, B])
      expect(events.filter((e) => typeof e[1] === 'number')).toEqual([])
    }
    expect(await extraFdsAfter(baseline)).toEqual([])
    // The cycle did restore the data (so the fds really carried it).
    expect(diffSnapshots(before, snapshotTree(sandboxOf(root, A)))).toEqual([])
  })

  test('after backups whose callbacks object has no onFileReady (the service closes them)', async () => {
    device()
    await cycle([A, B], { takeFiles: false })
    const baseline = openFds()
    for (let i = 0; i < 3; i++) {
      const { events } = await cycle([A, B], { takeFiles: false })
      expect(events.filter((e) => e[0] === 'end').sort()).toEqual([['end', A], ['end', B]])
    }
    expect(await extraFdsAfter(baseline)).toEqual([])
  })

  test('after restore handles that are asked for but never used, then release()', async () => {
    device()
    const { saved } = await cycle([A])
    const baseline = openFds()
    const r = new backup.SessionRestore({
      onFileReady: (err, file) => {
        if (!err) {
          fs.closeSync(file.fd)
          if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
        }
      },
      onBundleBegin: () => {},
      onBundleEnd: () => {},
      onAllBundlesEnd: () => {},
      onBackupServiceDied: () => {},
    })
    try {
      const cap = await r.getLocalCapabilities()
      await r.appendBundles(cap.fd, [A])
      fs.closeSync(cap.fd)
      for (const uri of saved.get(A).keys()) await r.getFileHandle({ bundleName: A, uri })
    } finally {
      await r.release()
    }
    expect(await extraFdsAfter(baseline)).toEqual([])
  })

  test('after release() in the middle of a backup', async () => {
    device()
    await cycle([A])
    const baseline = openFds()
    let first
    const gotOne = new Promise((r) => (first = r))
    const s = new backup.SessionBackup({
      onFileReady: (err, file) => {
        if (!err) fs.closeSync(file.fd)
        first()
      },
      onBundleBegin: () => {},
      onBundleEnd: () => {},
      onAllBundlesEnd: () => {},
      onBackupServiceDied: () => {},
    })
    try {
      await s.appendBundles([A, B])
      await gotOne
    } finally {
      await s.release()
    }
    expect(await extraFdsAfter(baseline)).toEqual([])
  })
})

// ---- what a delivered fd is ----------------------------------------------------------------

describe('a delivered fd', () => {
  test('reads the whole file from offset 0, is read-only, and carries the right bytes', async () => {
    const root = device()
    const seen = []
    await new Promise((resolve, reject) => {
      const s = new backup.SessionBackup({
        onFileReady: (err, file) => {
          if (err) return reject(err)
          try {
            const st = fs.fstatSync(file.fd)
            const head = readAt(file.fd, 0, 512)
            const all = readFd(file.fd, null) // from the fd's own offset
            let writable = true
            try {
              fs.writeSync(file.fd, 'x', 0)
            } catch {
              writable = false
            }
            seen.push({ uri: file.uri, size: st.size, isFile: st.isFile(), head, all, writable })
          } finally {
            fs.closeSync(file.fd)
          }
        },
        onBundleBegin: () => {},
        onBundleEnd: () => {},
        onAllBundlesEnd: () => s.release().then(resolve, reject),
        onBackupServiceDied: () => {},
      })
      s.appendBundles([A]).catch(reject)
    })
    expect(seen.length).toBeGreaterThanOrEqual(3)
    for (const f of seen) {
      expect({ uri: f.uri, isFile: f.isFile, writable: f.writable }).toEqual({ uri: f.uri, isFile: true, writable: false })
      // Reading from the fd's current offset gives the whole file: the offset was 0.
      expect({ uri: f.uri, read: f.all.length }).toEqual({ uri: f.uri, read: f.size })
      expect(f.all.subarray(0, f.head.length).equals(f.head)).toBe(true)
    }
    const manage = seen.find((f) => f.uri === 'manage.json')
    expect(() => JSON.parse(manage.all.toString('utf8'))).not.toThrow()
    const parts = seen.filter((f) => /^part\.\d+\.tar$/.test(f.uri))
    expect(parts.length).toBeGreaterThanOrEqual(1)
    for (const p of parts) expect(p.head.subarray(257, 262).toString('latin1')).toBe('ustar')
    // The one big file travels as itself.
    const bigSha = sha(fs.readFileSync(path.join(sandboxOf(root, A), FILES, 'big.bin')))
    expect(seen.filter((f) => sha(f.all) === bigSha)).toHaveLength(1)
  })
})

// ---- fds the caller passes in -------------------------------------------------------------

describe('an fd passed in stays the caller’s', () => {
  function expectIntact(fd, before) {
    const st = fs.fstatSync(fd) // throws EBADF if the addon closed it
    expect({ dev: st.dev, ino: st.ino }).toEqual({ dev: before.stat.dev, ino: before.stat.ino })
    // Its offset was not moved: reading from the current offset gives everything.
    expect(readFd(fd, null).equals(before.content)).toBe(true)
  }

  async function capabilityFile() {
    const { fd } = await backup.getLocalCapabilities()
    const content = readAt(fd, 0, 1 << 20)
    return { fd, before: { stat: fs.fstatSync(fd), content } }
  }

  test('remoteCapabilitiesFd is open, unmoved and the same file after appendBundles resolves', async () => {
    device()
    const { fd, before } = await capabilityFile()
    const r = new backup.SessionRestore({ onAllBundlesEnd: () => {}, onBundleBegin: () => {} })
    try {
      await r.appendBundles(fd, [A])
      // Opening new files must not reuse its number (which it would if it had been closed).
      const other = fs.openSync(__filename, 'r')
      expect(other).not.toBe(fd)
      fs.closeSync(other)
      expectIntact(fd, before)
    } finally {
      await r.release()
      fs.closeSync(fd)
    }
  })

  test('remoteCapabilitiesFd stays open with the callback form too', async () => {
    device()
    const { fd, before } = await capabilityFile()
    const r = new backup.SessionRestore({ onAllBundlesEnd: () => {}, onBundleBegin: () => {} })
    try {
      const err = await new Promise((resolve) => r.appendBundles(fd, [A], resolve))
      expect(err).toBeUndefined()
      expectIntact(fd, before)
    } finally {
      await r.release()
      fs.closeSync(fd)
    }
  })

  test('remoteCapabilitiesFd stays open when the capability file is refused', async () => {
    const root = device()
    const file = path.join(root, 'not-capabilities.json')
    fs.writeFileSync(file, 'this is not JSON')
    const fd = fs.openSync(file, 'r')
    const before = { stat: fs.fstatSync(fd), content: fs.readFileSync(file) }
    const r = new backup.SessionRestore({ onAllBundlesEnd: () => {}, onBundleBegin: () => {} })
    try {
      await expect(r.appendBundles(fd, [A])).rejects.toMatchObject({ code: 13900020 })
      expectIntact(fd, before)
    } finally {
      await r.release()
      fs.closeSync(fd)
    }
  })

  test('manifestFd of IncrementalBackupData is open and unmoved after appendBundles resolves', async () => {
    const root = device()
    const file = path.join(root, 'baseline.rp')
    fs.writeFileSync(file, '')
    const fd = fs.openSync(file, 'r')
    const before = { stat: fs.fstatSync(fd), content: Buffer.alloc(0) }
    let drained
    const done = new Promise((r) => (drained = r))
    const s = new backup.IncrementalBackupSession({
      onFileReady: (err, file) => {
        if (err) return
        fs.closeSync(file.fd)
        if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
      },
      onBundleBegin: () => {},
      onBundleEnd: () => {},
      onAllBundlesEnd: () => drained(),
      onBackupServiceDied: () => {},
    })
    try {
      await s.appendBundles([{ bundleName: A, lastIncrementalTime: 0, manifestFd: fd }])
      expectIntact(fd, before)
      await done
      expectIntact(fd, before)
    } finally {
      await s.release()
      fs.closeSync(fd)
    }
  })
})
