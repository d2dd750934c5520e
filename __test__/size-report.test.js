// getBackupDataSize(isPreciseScan, dataList) and onBackupSizeReport on both backup sessions
// (api-v18.md getBackupDataSize; ohos-behaviour.md §3.7): the report's JSON shape, periodic
// reports while the scan runs (cadence shortened with BACKUP_SIZE_REPORT_INTERVAL_MS, read
// when a call is made), a final report at once with scanning "", precise and imprecise
// values against a known tree, -1/-1 for unknown bundles, one scan at a time (13900020).
const fs = require('fs')
const backup = require('../index.js')
const { createDevice, installBundle } = require('../lib/device.js')
const { until } = require('./support/wait.js')

jest.setTimeout(60000)

const FILES = 'data/storage/el2/base/files'
const T0 = 1_700_000_000 // seconds
const LAST = T0 + 50
const APP = 'com.example.sized'
const EMPTY = 'com.example.emptyapp'
const UNKNOWN = 'com.example.nothere'
const HEAVY = 'com.example.heavy'

// The known tree of APP: in the backup scope (default includes minus the profile's exclude)
// 3000 + 50 bytes older than LAST and 500 + 1200 newer; outside the scope 7000 (cache, not
// an include) and 400 (excluded by the profile), both newer.
const TREE = {
  [`${FILES}/old.bin`]: { content: Buffer.alloc(3000, 1), mtime: T0 * 1000 },
  [`${FILES}/new.bin`]: { content: Buffer.alloc(500, 2), mtime: (T0 + 100) * 1000 },
  'data/storage/el2/database/rdb/x.db': { content: Buffer.alloc(1200, 3), mtime: (T0 + 100) * 1000 },
  'data/storage/el2/base/preferences/p.xml': { content: Buffer.alloc(50, 4), mtime: T0 * 1000 },
  'data/storage/el2/base/cache/c.bin': { content: Buffer.alloc(7000, 5), mtime: (T0 + 100) * 1000 },
  [`${FILES}/skip/s.bin`]: { content: Buffer.alloc(400, 6), mtime: (T0 + 100) * 1000 },
}
const SCOPE = 3000 + 500 + 1200 + 50
const SCOPE_NEWER = 500 + 1200
const SANDBOX = SCOPE + 7000 + 400

let root
beforeAll(() => {
  root = createDevice()
  installBundle(root, APP, { config: { allowToBackupRestore: true, excludes: [`${FILES}/skip/`] }, files: TREE })
  installBundle(root, EMPTY, {})
  const many = {}
  for (let i = 0; i < 5000; i++) many[`${FILES}/d${i % 50}/f${i}`] = 'x'
  installBundle(root, HEAVY, { files: many })
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
beforeEach(() => {
  process.env.BACKUP_DEVICE_ROOT = root
  delete process.env.BACKUP_SIZE_REPORT_INTERVAL_MS
})
afterEach(() => delete process.env.BACKUP_SIZE_REPORT_INTERVAL_MS)

const SESSIONS = [
  ['SessionBackup', backup.SessionBackup],
  ['IncrementalBackupSession', backup.IncrementalBackupSession],
]

// A session whose reports are recorded (text, parsed, arrival time); `final` resolves with
// all reports once one has scanning "".
function sizeSession(Session) {
  const reports = []
  let finish
  const final = new Promise((r) => (finish = r))
  const session = new Session({
    onFileReady: (e, f) => f && fs.closeSync(f.fd),
    onBundleBegin() {},
    onBundleEnd() {},
    onAllBundlesEnd() {},
    onBackupServiceDied() {},
    onBackupSizeReport(text) {
      const json = JSON.parse(text)
      reports.push({ at: Date.now(), text, json })
      if (json.scanning === '') finish(reports)
    },
  })
  return { session, reports, final }
}

function expectShape(report) {
  expect(Object.keys(report).sort()).toEqual(['scaned', 'scanning'])
  expect(Array.isArray(report.scaned)).toBe(true)
  expect(typeof report.scanning).toBe('string')
  for (const s of report.scaned) {
    expect(Object.keys(s).sort()).toEqual(['bundleName', 'dataSize', 'incDataSize'])
    expect(typeof s.bundleName).toBe('string')
    expect(Number.isInteger(s.dataSize)).toBe(true)
    expect(Number.isInteger(s.incDataSize)).toBe(true)
  }
}

async function scan(Session, precise, dataList) {
  const { session, final } = sizeSession(Session)
  try {
    await expect(session.getBackupDataSize(precise, dataList)).resolves.toBeUndefined()
    const reports = await final
    for (const r of reports) expectShape(r.json)
    return reports
  } finally {
    await session.release()
  }
}

const scanned = (reports) => reports.flatMap((r) => r.json.scaned)

describe.each(SESSIONS)('%s', (_, Session) => {
  test('precise: dataSize is the bytes in the backup scope, incDataSize those newer than lastIncrementalTime (-1 for 0)', async () => {
    const reports = await scan(Session, true, [
      { bundleName: APP, lastIncrementalTime: LAST },
      { bundleName: UNKNOWN, lastIncrementalTime: LAST },
      { bundleName: EMPTY, lastIncrementalTime: LAST },
      { bundleName: APP, lastIncrementalTime: 0 },
    ])
    expect(reports[reports.length - 1].json.scanning).toBe('')
    expect(scanned(reports)).toEqual([
      { bundleName: APP, dataSize: SCOPE, incDataSize: SCOPE_NEWER },
      { bundleName: UNKNOWN, dataSize: -1, incDataSize: -1 },
      { bundleName: EMPTY, dataSize: 0, incDataSize: 0 },
      { bundleName: APP, dataSize: SCOPE, incDataSize: -1 },
    ])
  })

  test('imprecise: dataSize is the sandbox estimate, incDataSize always -1; nothing there or unknown gives -1/-1', async () => {
    const reports = await scan(Session, false, [
      { bundleName: APP, lastIncrementalTime: LAST },
      { bundleName: EMPTY, lastIncrementalTime: 0 },
      { bundleName: UNKNOWN, lastIncrementalTime: 0 },
    ])
    expect(scanned(reports)).toEqual([
      { bundleName: APP, dataSize: SANDBOX, incDataSize: -1 },
      { bundleName: EMPTY, dataSize: -1, incDataSize: -1 },
      { bundleName: UNKNOWN, dataSize: -1, incDataSize: -1 },
    ])
  })

  test('an empty dataList still ends with a final report', async () => {
    const reports = await scan(Session, true, [])
    expect(reports.map((r) => r.json)).toEqual([{ scaned: [], scanning: '' }])
  })

  test('the final report comes at once when the scan ends, not at the next tick of the cadence', async () => {
    process.env.BACKUP_SIZE_REPORT_INTERVAL_MS = '60000'
    const started = Date.now()
    const reports = await scan(Session, true, [{ bundleName: APP, lastIncrementalTime: LAST }])
    expect(Date.now() - started).toBeLessThan(20000) // far below the 60 s cadence
    expect(reports.map((r) => r.json)).toEqual([{ scaned: [{ bundleName: APP, dataSize: SCOPE, incDataSize: SCOPE_NEWER }], scanning: '' }])
  })

  test('periodic reports while the scan runs: what finished since the last one and what is being scanned; each result once', async () => {
    process.env.BACKUP_SIZE_REPORT_INTERVAL_MS = '20'
    const list = Array.from({ length: 60 }, (_, i) => ({ bundleName: i % 2 ? HEAVY : APP, lastIncrementalTime: 0 }))
    const reports = await scan(Session, true, list)
    const periodic = reports.slice(0, -1)
    expect(periodic.length).toBeGreaterThanOrEqual(3)
    for (const r of periodic) expect([APP, HEAVY]).toContain(r.json.scanning)
    expect(reports[reports.length - 1].json.scanning).toBe('')
    // Every listed entry reported exactly once, in list order, across all reports.
    expect(scanned(reports).map((s) => s.bundleName)).toEqual(list.map((l) => l.bundleName))
    for (const s of scanned(reports)) expect(s.dataSize).toBe(s.bundleName === APP ? SCOPE : 5000)
  })

  test('a periodic report is sent even when nothing finished since the last one', async () => {
    process.env.BACKUP_SIZE_REPORT_INTERVAL_MS = '1'
    // One bundle of 5000 files, scanned 10 times: each scan outlasts a 1 ms interval.
    const reports = await scan(Session, true, Array.from({ length: 10 }, () => ({ bundleName: HEAVY, lastIncrementalTime: 0 })))
    expect(reports.slice(0, -1).some((r) => r.json.scaned.length === 0 && r.json.scanning === HEAVY)).toBe(true)
    expect(scanned(reports)).toHaveLength(10)
  })

  test('a second call while a scan runs rejects with 13900020; once it ended, a new one runs', async () => {
    const { session, reports, final } = sizeSession(Session)
    try {
      // 40 scans of 5000 files: far longer than the two calls take.
      const list = Array.from({ length: 40 }, () => ({ bundleName: HEAVY, lastIncrementalTime: 0 }))
      await session.getBackupDataSize(true, list)
      const second = session.getBackupDataSize(false, [{ bundleName: APP, lastIncrementalTime: 0 }])
      await expect(second).rejects.toMatchObject({ code: 13900020 })
      const err = await second.catch((e) => e)
      expect(err).toBeInstanceOf(Error)
      expect(err.message).toMatch(/^Invalid argument\./)
      await final
      // The refused call added nothing: only the first call's results.
      expect(scanned(reports).map((s) => s.bundleName)).toEqual(list.map((l) => l.bundleName))
      const from = reports.length
      await session.getBackupDataSize(false, [{ bundleName: APP, lastIncrementalTime: 0 }])
      await until(() => reports.slice(from).some((r) => r.json.scanning === ''))
      expect(scanned(reports.slice(from))).toEqual([{ bundleName: APP, dataSize: SANDBOX, incDataSize: -1 }])
    } finally {
      await session.release()
    }
  })

  test('bad arguments throw 401 at once', async () => {
    const { session } = sizeSession(Session)
    try {
      for (const args of [[], [true], ['yes', []], [1, []], [true, 'list'], [true, [{ bundleName: 7, lastIncrementalTime: 0 }]], [true, [{ bundleName: APP }]], [true, [{ bundleName: APP, lastIncrementalTime: -1 }]]]) {
        let thrown
        try {
          session.getBackupDataSize(...args)
        } catch (e) {
          thrown = e
        }
        expect(thrown).toBeInstanceOf(Error)
        expect(thrown.code).toBe(401)
      }
    } finally {
      await session.release()
    }
  })
})

test('reports arrive in scan order: "scanning" names the first listed entry not reported yet', async () => {
  process.env.BACKUP_SIZE_REPORT_INTERVAL_MS = '5'
  const list = Array.from({ length: 40 }, (_, i) => ({ bundleName: `${i % 2 ? HEAVY : APP}`, lastIncrementalTime: 0 }))
  const reports = await scan(backup.SessionBackup, true, list)
  let done = 0
  for (const r of reports) {
    done += r.json.scaned.length
    if (r.json.scanning !== '') expect(r.json.scanning).toBe(list[done].bundleName)
  }
  expect(done).toBe(list.length)
})
