// IncrementalBackupSession.appendBundles with bad input. The docs' error table for it lists
// 401 (DESIGN.md §5.2: 401 where the method's table lists it), thrown synchronously, and the
// whole call is refused: nothing of it starts. A baseline that is not a report is a failure of
// that bundle only: onBundleEnd with 13900020 (listed in onBundleEnd's table), the other
// bundles go on and the session still ends with onAllBundlesEnd.
const fs = require('fs')
const os = require('os')
const path = require('path')
const backup = require('../../index.js')
const { createDevice, installBundle } = require('../../lib/device.js')
const { incrementalBackupToDir } = require('../../lib/incremental-client.js')
const { thrownBy } = require('../support/throws.js')

jest.setTimeout(30000)

const APP = 'com.example.ledger'
const OTHER = 'com.example.almanac'
const THIRD = 'com.example.atlas'
const FILES = 'data/storage/el2/base/files'
const PARAM_ERROR = 'Parameter error. Possible causes: 1. Mandatory parameters are left unspecified. 2. Incorrect parameter types. 3. Parameter verifcation faild.'

let root, work
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-errors-'))
  installBundle(root, APP, { files: { [`${FILES}/a.txt`]: 'ledger a', [`${FILES}/b.txt`]: 'ledger b' } })
  installBundle(root, OTHER, { files: { [`${FILES}/o.txt`]: 'almanac' } })
  installBundle(root, THIRD, { files: { [`${FILES}/t.txt`]: 'atlas' } })
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(work, { recursive: true, force: true })
})

// A session that records its events; `ended` resolves on onAllBundlesEnd.
function recordingSession() {
  const events = []
  let ended
  const done = new Promise((r) => (ended = r))
  const session = new backup.IncrementalBackupSession({
    onFileReady(err, file) {
      if (err) return events.push(['onFileReady', err.data, err.code])
      events.push(['onFileReady', file.bundleName, file.uri])
      fs.closeSync(file.fd)
      fs.closeSync(file.manifestFd)
    },
    onBundleBegin: (err, name) => events.push(err ? ['onBundleBegin', err.data, err.code, err] : ['onBundleBegin', name]),
    onBundleEnd: (err, name) => events.push(err ? ['onBundleEnd', err.data, err.code, err] : ['onBundleEnd', name]),
    onAllBundlesEnd: (err) => {
      events.push(err ? ['onAllBundlesEnd', err.code] : ['onAllBundlesEnd'])
      ended()
    },
    onBackupServiceDied: () => events.push(['onBackupServiceDied']),
  })
  return { session, events, done }
}

const good = { bundleName: APP, lastIncrementalTime: 0, manifestFd: -1 }

describe('bad IncrementalBackupData elements throw 401 at once, and nothing of the call starts', () => {
  let writeOnly, dirFd
  beforeAll(() => {
    writeOnly = fs.openSync(path.join(os.tmpdir(), `inc-errors-wo-${process.pid}`), 'w')
    dirFd = fs.openSync(os.tmpdir(), 'r')
  })
  afterAll(() => {
    fs.closeSync(writeOnly)
    fs.closeSync(dirFd)
    fs.rmSync(path.join(os.tmpdir(), `inc-errors-wo-${process.pid}`), { force: true })
  })

  const cases = [
    ['a string element', () => ['com.example.ledger'], /bundlesToBackup\[1\] must be an object/],
    ['a null element', () => [null], /bundlesToBackup\[1\] must be an object/],
    ['a number element', () => [42], /bundlesToBackup\[1\] must be an object/],
    ['a missing bundleName', () => [{ lastIncrementalTime: 0 }], /bundlesToBackup\[1\]\.bundleName/],
    ['a bundleName that is not a string', () => [{ bundleName: 7, lastIncrementalTime: 0 }], /bundlesToBackup\[1\]\.bundleName/],
    ['a missing lastIncrementalTime', () => [{ bundleName: OTHER }], /bundlesToBackup\[1\]\.lastIncrementalTime/],
    ['a lastIncrementalTime string', () => [{ bundleName: OTHER, lastIncrementalTime: '1700000000' }], /lastIncrementalTime/],
    ['a NaN lastIncrementalTime', () => [{ bundleName: OTHER, lastIncrementalTime: NaN }], /lastIncrementalTime/],
    ['a negative lastIncrementalTime', () => [{ bundleName: OTHER, lastIncrementalTime: -5 }], /lastIncrementalTime/],
    ['a manifestFd string', () => [{ bundleName: OTHER, lastIncrementalTime: 0, manifestFd: '3' }], /manifestFd/],
    ['a fractional manifestFd', () => [{ bundleName: OTHER, lastIncrementalTime: 0, manifestFd: 3.5 }], /manifestFd/],
  ]

  test.each(cases)('%s', async (_, bad, why) => {
    const { session, events, done } = recordingSession()
    // A good element first: it must not be appended either.
    const e = thrownBy(() => session.appendBundles([good, ...bad()]))
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe(401)
    expect(e.message.startsWith(PARAM_ERROR)).toBe(true)
    expect(e.message).toMatch(why)
    // The same with infos.
    const e2 = thrownBy(() => session.appendBundles([good, ...bad()], ['{}', '{}']))
    expect(e2 && e2.code).toBe(401)
    // Then a good call runs to onAllBundlesEnd: had the refused calls appended anything, its
    // events would have come before that.
    await session.appendBundles([{ bundleName: THIRD, lastIncrementalTime: 0 }])
    await done
    expect(new Set(events.filter((e) => e[0] !== 'onAllBundlesEnd').map((e) => e[1]))).toEqual(new Set([THIRD]))
    // The caller's fds are untouched.
    expect(fs.fstatSync(writeOnly).isFile()).toBe(true)
    expect(fs.fstatSync(dirFd).isDirectory()).toBe(true)
    await session.release()
  })

  // DESIGN.md §5.12: a manifestFd that is no readable regular file is that bundle's error,
  // delivered through its events like a corrupt baseline; the call settles, the others go on.
  test.each([
    ['not open', () => 987654],
    ['write-only', () => writeOnly],
    ['a directory', () => dirFd],
  ])('a manifestFd that is %s: that bundle ends with 13900020, the others go on', async (_, fd) => {
    const { session, events, done } = recordingSession()
    await session.appendBundles([good, { bundleName: OTHER, lastIncrementalTime: 0, manifestFd: fd() }])
    await done
    const end = events.find((e) => e[0] === 'onBundleEnd' && e[1] === OTHER)
    expect(end[2]).toBe(13900020)
    expect(end[3].message).toMatch(/manifestFd \d+ cannot be read/)
    expect(events.filter((e) => e[1] === APP).map((e) => e[0])).toEqual(['onBundleBegin', 'onFileReady', 'onFileReady', 'onBundleEnd'])
    expect(events.find((e) => e[0] === 'onBundleEnd' && e[1] === APP)).toEqual(['onBundleEnd', APP])
    // The caller's fds are untouched.
    expect(fs.fstatSync(writeOnly).isFile()).toBe(true)
    expect(fs.fstatSync(dirFd).isDirectory()).toBe(true)
    await session.release()
  })

  test('a list that is not an array, or no list at all, throws 401', async () => {
    const { session } = recordingSession()
    for (const args of [[], ['com.example.ledger'], [good], [{ length: 1, 0: good }]]) {
      const e = thrownBy(() => session.appendBundles(...args))
      expect(e).toBeInstanceOf(Error)
      expect(e.code).toBe(401)
    }
    await session.release()
  })

  test('after a refused call the session takes a good one and runs it to the end', async () => {
    const { session, events, done } = recordingSession()
    expect(thrownBy(() => session.appendBundles([{ bundleName: APP }])).code).toBe(401)
    await session.appendBundles([good])
    await done
    await session.release()
    expect(events.map((e) => e.slice(0, 2))).toEqual([
      ['onBundleBegin', APP],
      ['onFileReady', APP],
      ['onFileReady', APP],
      ['onBundleEnd', APP],
      ['onAllBundlesEnd'],
    ])
  })
})

describe('a corrupt baseline ends that bundle with 13900020; the session goes on to onAllBundlesEnd', () => {
  const garbage = {
    'text that is not a report': 'this;is;not\na report at all\n',
    'manage.json passed instead of its report': '[{"fileName":"1700000000000_part.0.tar","isBigFile":false}]\n',
    'a report with a bad line': 'version=1.0&attrNum=8\npath;mode;dir;size;mtime;hash;usertar;encodeFlag\n/data/storage/el2/base/files/a.txt;33188;0;eight;1700000000;;1;0\n',
    'binary bytes': Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a, 0x9c, 0x01]),
  }

  test.each(Object.keys(garbage))('%s', async (kind) => {
    const file = path.join(work, 'baseline.rp')
    fs.writeFileSync(file, garbage[kind])
    const fd = fs.openSync(file, 'r')
    const { session, events, done } = recordingSession()
    try {
      await session.appendBundles([
        { bundleName: APP, lastIncrementalTime: 0, manifestFd: fd },
        { bundleName: OTHER, lastIncrementalTime: 0, manifestFd: -1 },
      ])
    } finally {
      fs.closeSync(fd)
    }
    await done
    await session.release()

    const of = (name) => events.filter((e) => e[1] === name)
    // The corrupt one: begins, sends nothing, ends with the documented 13900020.
    expect(of(APP).map((e) => e.slice(0, 3))).toEqual([
      ['onBundleBegin', APP],
      ['onBundleEnd', APP, 13900020],
    ])
    const err = of(APP)[1][3]
    expect(err).toBeInstanceOf(Error)
    expect(err.data).toBe(APP)
    expect(err.message).toMatch(/^Invalid argument\./)
    expect(err.message).toMatch(/line \d+/) // says where the baseline is wrong
    // The other bundle is backed up in full.
    expect(of(OTHER).map((e) => e[0])).toEqual(['onBundleBegin', 'onFileReady', 'onFileReady', 'onBundleEnd'])
    expect(of(OTHER).filter((e) => e[0] === 'onBundleEnd')[0]).toEqual(['onBundleEnd', OTHER])
    expect(events[events.length - 1]).toEqual(['onAllBundlesEnd'])
    expect(events.filter((e) => e[0] === 'onAllBundlesEnd')).toHaveLength(1)
  })

  test('through incrementalBackupToDir: the bundle carries the error and no listing, the other its listing', async () => {
    const file = path.join(work, 'bad.rp')
    fs.writeFileSync(file, 'garbage\n')
    const r = await incrementalBackupToDir({
      bundles: [
        { bundleName: APP, lastIncrementalTime: 0, baseline: file },
        { bundleName: OTHER, lastIncrementalTime: 0 },
      ],
      outDir: path.join(work, 'out'),
    })
    expect(r.bundles[APP]).toMatchObject({ files: [], error: { code: 13900020 }, listing: null })
    expect(r.bundles[OTHER].error).toBeNull()
    expect(r.bundles[OTHER].listing).toBe(path.join(work, 'out', OTHER, 'manage.json.rp'))
  })
})
