'use strict'
// updateSendRate (issue 4): at most `rate` files per second for one bundle of a backup, 0 pauses,
// clamped at 800; false where it cannot apply; 401 for bad arguments.

const fs = require('fs')
const path = require('path')
const { performance } = require('perf_hooks')
const backup = require('backup')
const device = require('backup/device')
const { FILES, installApp, extRecord, leftoverChildren, recordSession, backupApps, startRestore, useFreshDevice } = require('./support.js')

jest.setTimeout(40000)

const dev = useFreshDevice()

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
  installApp(dev.root, 'com.example.rateapp', 'slow-app', { files: bigFiles(6, 'r'), options: { delayMs: 300 } })
  installApp(dev.root, 'com.example.fastapp', 'slow-app', { files: bigFiles(6, 'f'), options: { delayMs: 300 } })
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
  installApp(dev.root, 'com.example.pausedapp', 'slow-app', { files: bigFiles(3, 'p'), options: { delayMs: 200 } })
  installApp(dev.root, 'com.example.plainapp', null)
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
  expect(extRecord(dev.root, 'com.example.pausedapp', 'onBackup')).not.toBeNull()
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
  installApp(dev.root, 'com.example.hangsone', 'hangs-app')
  installApp(dev.root, 'com.example.hangstwo', 'hangs-app')
  installApp(dev.root, 'com.example.hangsthree', 'hangs-app')
  installApp(dev.root, 'com.example.waitingapp', null)
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
  installApp(dev.root, 'com.example.plainapp', null)
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
  installApp(dev.root, 'com.example.manyapp', 'slow-app', { files: {}, options: { delayMs: 300 } })
  const dir = path.join(device.sandboxOf(dev.root, 'com.example.manyapp'), FILES)
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
