// `delayTime` in an incremental backup's infos (ohos-behaviour.md §1.3, §3.6): the service
// waits that many seconds (at most 1800) before it scans; cancel cuts the wait short, and a
// full backup ignores the key.
const fs = require('fs')
const path = require('path')
const { performance } = require('perf_hooks')
const backup = require('../../index.js')
const { createDevice, installBundle, sandboxOf } = require('../../lib/device.js')

jest.setTimeout(30000)

const APP = 'com.example.journal'
const OTHER = 'com.example.planner'
const FILES = 'data/storage/el2/base/files'

let root
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  installBundle(root, APP, { files: { [`${FILES}/a.txt`]: 'journal\n' } })
  installBundle(root, OTHER, { files: { [`${FILES}/b.txt`]: 'planner\n' } })
})
afterEach(() => fs.rmSync(root, { recursive: true, force: true }))

/** Runs a session of `kind` over `list` with `infos`; records events with their times (ms). */
function run(kind, list, infos, { onBegin } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const events = []
    const push = (e) => events.push({ ...e, t: performance.now() - t0 })
    const session = new backup[kind]({
      onFileReady(err, file) {
        if (err) return push({ ev: 'file', bundle: err.data, code: err.code })
        fs.closeSync(file.fd)
        if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
        push({ ev: 'file', bundle: file.bundleName, uri: file.uri })
      },
      onBundleBegin(err, name) {
        push({ ev: 'begin', bundle: err ? err.data : name, code: err && err.code })
        if (!err && onBegin) onBegin(session, name)
      },
      onBundleEnd(err, name) {
        push({ ev: 'end', bundle: err ? err.data : name, code: err && err.code })
      },
      onAllBundlesEnd() {
        session.release().then(() => resolve(events))
      },
      onBackupServiceDied() {},
    })
    session.appendBundles(list, infos)
  })
}

const incremental = (name) => ({ bundleName: name, lastIncrementalTime: 0, manifestFd: -1 })
const firstFile = (events, name) => events.find((e) => e.ev === 'file' && e.bundle === name)
const beginOf = (events, name) => events.find((e) => e.ev === 'begin' && e.bundle === name)

test('an incremental bundle with delayTime 1 sends its first file a second after it began; the other does not wait', async () => {
  const events = await run('IncrementalBackupSession', [incremental(APP), incremental(OTHER)], [JSON.stringify({ delayTime: 1 }), '{}'])
  expect(firstFile(events, APP).t - beginOf(events, APP).t).toBeGreaterThanOrEqual(950)
  expect(firstFile(events, OTHER).t - beginOf(events, OTHER).t).toBeLessThan(900)
  for (const name of [APP, OTHER]) {
    const own = events.filter((e) => e.bundle === name)
    expect(own[own.length - 1]).toEqual(expect.objectContaining({ ev: 'end', code: undefined }))
    expect(own.filter((e) => e.ev === 'file').map((e) => e.uri).slice(-1)).toEqual(['manage.json'])
  }
})

test('cancel during the delay ends the bundle at once, without error and without files', async () => {
  let code
  const events = await run('IncrementalBackupSession', [incremental(APP)], [JSON.stringify({ delayTime: 600 })], {
    onBegin: (session, name) => setTimeout(() => (code = session.cancel(name)), 100),
  })
  expect(code).toBe(0)
  expect(events.map((e) => [e.ev, e.bundle, e.code])).toEqual([
    ['begin', APP, undefined],
    ['end', APP, undefined],
  ])
  expect(events[1].t).toBeLessThan(5000)
  expect(fs.existsSync(path.join(sandboxOf(root, APP), 'data/storage/el2/base/.backup/backup'))).toBe(false)
})

test('a full backup ignores delayTime', async () => {
  const events = await run('SessionBackup', [APP], [JSON.stringify({ delayTime: 5 })])
  expect(firstFile(events, APP).t - beginOf(events, APP).t).toBeLessThan(900)
  expect(events[events.length - 1]).toEqual(expect.objectContaining({ ev: 'end', bundle: APP, code: undefined }))
})
